-- settimeouts(connect, send, read) sets each timeout separately
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
sock:settimeouts(100, 5000, 5000)
show("connect timeout", sock:connect("127.0.0.1", T.fault.full_backlog))
sock:settimeouts(5000, 5000, 100)
show("connect", sock:connect("127.0.0.1", T.fault.mute))
show("read timeout", sock:receive())
sock:settimeouts(5000, 100, 5000)
sock:close()
assert(sock:connect("127.0.0.1", T.fault.no_read))
sock:settimeouts(5000, 100, 5000)
show("send timeout", sock:send(string.rep("z", 16 * 1024 * 1024)))
sock:close()
