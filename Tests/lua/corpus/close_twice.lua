-- close() returns 1 once, then nil, "closed"
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("close unconnected", sock:close())
assert(sock:connect("127.0.0.1", T.fault.echo))
show("close", sock:close())
show("close again", sock:close())
show("close with args", pcall(sock.close, sock, 1))
show("close no self", pcall(sock.close))
show("reconnect", sock:connect("127.0.0.1", T.fault.echo))
show("close", sock:close())
