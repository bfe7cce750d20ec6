-- receive() with no argument reads a line, like "*l"
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.greet_lines))
show(sock:receive())
show(sock:receive())
show(sock:receive())
show(sock:receive())
sock:close()
