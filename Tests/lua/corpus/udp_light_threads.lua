-- many datagram sockets in flight at once from light threads, each with its own answer
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local threads = {}
for i = 1, 50 do
  threads[i] = ngx.thread.spawn(function()
    local s = ngx.socket.udp()
    s:settimeout(2000)
    local ok, err = s:setpeername("127.0.0.1", T.fault.udp_echo)
    if not ok then return "setpeername " .. err end
    for round = 1, 3 do
      local msg = "thread " .. i .. " round " .. round
      local sent, serr = s:send(msg)
      if not sent then return "send " .. serr end
      local data, rerr = s:receive()
      if data ~= msg then return "got " .. tostring(data) .. " " .. tostring(rerr) end
      ngx.sleep(0)
    end
    return s:close()
  end)
end
local results = {}
for i = 1, 50 do
  local ok, res = ngx.thread.wait(threads[i])
  results[tostring(ok) .. " " .. tostring(res)] = (results[tostring(ok) .. " " .. tostring(res)] or 0) + 1
end
for k, v in pairs(results) do show(k, v) end
