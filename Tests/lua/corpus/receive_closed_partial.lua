-- the peer closes in the middle of a line
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.close_mid_line))
local line, err, partial = sock:receive("*l")
show("line", line, err, partial)
show("again", sock:receive("*l"))
show("sized", sock:receive(3))
show("all", string.format("%q", tostring(sock:receive("*a"))))
show("send", sock:send("x"))
show("close", sock:close())
assert(sock:connect("127.0.0.1", T.fault.close_mid_line))
show("sized more than sent", sock:receive(20))
sock:close()
