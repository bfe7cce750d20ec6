-- connect to a port nothing listens on; the same object can connect again afterwards
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("refused", sock:connect("127.0.0.1", T.closed_port))
show("send after failed connect", sock:send("x"))
show("receive after failed connect", sock:receive())
show("close after failed connect", sock:close())
show("connect again", sock:connect("127.0.0.1", T.fault.echo))
show("send", sock:send("ok\n"))
show("receive", sock:receive())
sock:close()
