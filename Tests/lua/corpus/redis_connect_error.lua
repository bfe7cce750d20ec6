-- redis client errors: nothing listening, and a server that is not redis
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function need(name) local ok, m = pcall(require, "resty." .. name) if ok then return m end return require("nginx." .. name) end
local redis = need("redis")
local red = redis:new()
red:set_timeout(500)
show("connect closed port", red:connect("127.0.0.1", T.closed_port))
show("command when not connected", red:get("x"))
show("connect to mute", red:connect("127.0.0.1", T.fault.mute))
show("command times out", red:get("x"))
show("connect to read_then_close", red:connect("127.0.0.1", T.fault.read_then_close))
show("command gets closed", red:get("x"))
show("connect to greet_lines", red:connect("127.0.0.1", T.fault.greet_lines))
show("bad reply", red:get("x"))
red:close()
