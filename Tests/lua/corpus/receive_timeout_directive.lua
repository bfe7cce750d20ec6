-- http: lua_socket_read_timeout 100ms;
-- the read timeout comes from lua_socket_read_timeout; settimeout overrides it
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.mute))
show("directive", sock:receive())
sock:settimeout(50)
show("settimeout", sock:receive(5))
show("still connected", sock:send("x"))
sock:close()
