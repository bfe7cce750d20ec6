-- connect to a unix-domain socket with the "unix:" prefix (no port argument)
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("connect", sock:connect("unix:" .. T.unix_echo))
show("send", sock:send("over unix\n"))
show("receive", sock:receive("*l"))
show("close", sock:close())
-- a port argument together with a unix: host
local s2 = ngx.socket.tcp()
show("with port", pcall(s2.connect, s2, "unix:" .. T.unix_echo, 80))
