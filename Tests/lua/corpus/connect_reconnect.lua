-- connect() on an already connected socket closes the old connection first
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("first", sock:connect("127.0.0.1", T.fault.greet_lines))
show("read", sock:receive())
show("second", sock:connect("127.0.0.1", T.fault.echo))
show("reused", sock:getreusedtimes())
show("send", sock:send("second conn\n"))
show("receive", sock:receive())
show("third (refused)", sock:connect("127.0.0.1", T.closed_port))
show("send after refused reconnect", sock:send("x"))
sock:close()
