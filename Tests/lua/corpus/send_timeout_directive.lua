-- http: lua_socket_send_timeout 100ms;
-- the send timeout comes from lua_socket_send_timeout
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.no_read))
show("send", sock:send(string.rep("x", 16 * 1024 * 1024)))
sock:close()
