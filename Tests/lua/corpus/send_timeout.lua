-- send() of a large payload to a peer that never reads times out
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.no_read))
sock:settimeout(100)
local payload = string.rep("x", 16 * 1024 * 1024)
local bytes, err = sock:send(payload)
show("send", bytes, err)
show("send again", sock:send("y"))
show("receive", sock:receive())
show("close", sock:close())
