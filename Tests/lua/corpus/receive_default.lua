-- receive() with no argument reads a line, like "*l"
local function show(...) local t = {} for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.greet_lines))
show(sock:receive())
show(sock:receive())
show(sock:receive())
show(sock:receive())
sock:close()
