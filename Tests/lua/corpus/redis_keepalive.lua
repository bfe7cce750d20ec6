-- redis connections go back to the pool with set_keepalive
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function need(name) local ok, m = pcall(require, "resty." .. name) if ok then return m end return require("nginx." .. name) end
local redis = need("redis")
local function once(label)
  local red = redis:new()
  red:set_timeout(1000)
  assert(red:connect("127.0.0.1", T.redis_port))
  show(label, "reused", red:get_reused_times())
  show(label, "ping", red:ping())
  show(label, "set_keepalive", red:set_keepalive(10000, 10))
  show(label, "after keepalive", red:ping())
end
once("first")
once("second")
once("third")
local red = redis:new()
assert(red:connect("127.0.0.1", T.redis_port, { pool = "other" }))
show("other pool", red:get_reused_times())
red:close()
