-- Calls every function under ngx (two levels deep, and the methods of the objects ngx hands
-- out) with hostile values in each of the first three argument positions, each call in a
-- timer of its own so that ngx.exit, a sleep that never ends or an error ends only that call.
-- The process must live through all of it (HostileArgumentSweepTests). arg[1]: an echo port.
local echo_port = tonumber(arg[1])
local raising = setmetatable({}, { __index = function() error("index raised") end,
                                   __tostring = function() error("tostring raised") end,
                                   __len = function() error("len raised") end,
                                   __call = function() error("call raised") end,
                                   __eq = function() error("eq raised") end,
                                   __concat = function() error("concat raised") end })
local values = {
  0/0, math.huge, -math.huge, 1e300, -1e300, -0.0, 2^53 + 1, 2^31, 2^32 + 1, 2^63, -2^63, -1, 0, 1.5,
  "nan", "inf", "-inf", "1e999", "-1", "2147483648", "0x10", "", string.rep("a", 1024 * 1024),
  "1e300", "-1e300", "9223372036854775808", "\0", "*l", "*a", "*x",
  true, false, {}, { 1, { 2, { 3 } } }, raising, ngx.null, newproxy(true), function() end,
  coroutine.create(function() end), { n = 0/0 }, { 0/0, math.huge }, setmetatable({}, { __index = raising }),
}
local NIL = {}
table.insert(values, NIL)

local targets = {}
local function add(name, f, self)
  if type(f) == "function" then targets[#targets + 1] = { name = name, f = f, self = self } end
end
local skip = { ["ngx.thread.wait"] = false }
for k, v in pairs(ngx) do
  if type(v) == "function" then add("ngx." .. k, v)
  elseif type(v) == "table" and k ~= "_G" then
    for k2, v2 in pairs(v) do add("ngx." .. k .. "." .. k2, v2) end
  end
end

-- objects and their methods, each call on a fresh object
local makers = {
  tcp = function() return ngx.socket.tcp() end,
  tcp_connected = function()
    local s = ngx.socket.tcp()
    s:settimeout(200)
    s:connect("127.0.0.1", echo_port)
    return s
  end,
  udp = function() local u = ngx.socket.udp() u:settimeout(200) return u end,
  dict = function() return ngx.shared.sweep end,
  until_iterator = function()
    local s = ngx.socket.tcp()
    s:settimeout(200)
    s:connect("127.0.0.1", echo_port)
    local it = s:receiveuntil("\n")
    return setmetatable({}, { __index = { call = function(_, ...) return it(...) end } })
  end,
}
for _, module in ipairs({ "ngx.semaphore", "ngx.re", "ngx.process", "ngx.errlog", "ngx.base64" }) do
  local ok, m = pcall(require, module)
  if ok and type(m) == "table" then
    for k, v in pairs(m) do add(module .. "." .. k, v) end
    if module == "ngx.semaphore" then makers.sema = function() return m.new(0) end end
  end
end
for kind, make in pairs(makers) do
  local ok, object = pcall(make)
  if ok and object then
    local mt = getmetatable(object)
    local methods = type(mt) == "table" and type(mt.__index) == "table" and mt.__index or object
    for k, v in pairs(methods) do
      if type(v) == "function" then targets[#targets + 1] = { name = kind .. ":" .. k, f = v, make = make } end
    end
  end
end

local started, finished = 0, 0
local function one(target, position, value)
  return function(premature)
    if premature then finished = finished + 1 return end
    local args = {}
    local first = 1
    if target.make then
      local ok, object = pcall(target.make)
      if not ok then finished = finished + 1 return end
      args[1] = object
      first = 2
    end
    for i = first, first + position - 2 do args[i] = 1 end
    local v = value
    if v == NIL then v = nil end
    args[first + position - 1] = v
    pcall(target.f, unpack(args, 1, first + position - 1))
    finished = finished + 1
  end
end
for _, target in ipairs(targets) do
  for position = 1, 3 do
    for _, value in ipairs(values) do
      local ok = ngx.timer.at(0, one(target, position, value))
      if ok then started = started + 1 end
    end
  end
end
-- wait until the calls that return have returned (some sleep or wait for good)
local last, stable = -1, 0
for _ = 1, 400 do
  ngx.sleep(0.05)
  if finished == last then stable = stable + 1 else stable = 0 end
  last = finished
  if stable >= 20 then break end
end
ngx.log(ngx.ERR, "SWEEP-DONE values=", #values, " targets=", #targets, " started=", started, " finished=", finished)
