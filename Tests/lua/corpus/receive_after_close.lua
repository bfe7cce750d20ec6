-- receive on a closed or never-connected socket
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("never connected", sock:receive())
show("never connected *a", sock:receive("*a"))
show("never connected bad pattern", pcall(sock.receive, sock, "*x"))
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:send("data\n")
show("line", sock:receive())
sock:close()
show("after close", sock:receive())
show("after close size", sock:receive(5))
show("receiveany after close", sock:receiveany(5))
