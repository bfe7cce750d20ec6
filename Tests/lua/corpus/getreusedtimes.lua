-- getreusedtimes() on fresh, connected, pooled and closed sockets
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("unconnected", sock:getreusedtimes())
assert(sock:connect("127.0.0.1", T.fault.echo))
show("fresh", sock:getreusedtimes())
show("with args", pcall(sock.getreusedtimes, sock, 1))
show("keepalive", sock:setkeepalive())
show("after keepalive", sock:getreusedtimes())
assert(sock:connect("127.0.0.1", T.fault.echo))
show("reused", sock:getreusedtimes())
sock:close()
show("after close", sock:getreusedtimes())
