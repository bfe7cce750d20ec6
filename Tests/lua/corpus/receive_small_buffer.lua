-- http: lua_socket_buffer_size 8;
-- lines, sizes and patterns longer than the socket buffer still work
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:send("a line much longer than eight bytes\r\n0123456789abcdefghij--boundary--tail|")
show("line", sock:receive())
show("size 15", sock:receive(15))
show("until", sock:receiveuntil("--boundary--")())
show("rest", sock:receiveuntil("|")())
sock:close()
assert(sock:connect("127.0.0.1", T.fault.big))
local data = sock:receive("*a")
show("*a", #data)
sock:close()
