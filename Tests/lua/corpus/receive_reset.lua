-- the peer sends "partial" and then resets the connection
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.reset))
local data, err, partial = sock:receive("*a")
show("all", data, err, partial)
show("again", sock:receive())
show("send", sock:send("x"))
show("close", sock:close())
assert(sock:connect("127.0.0.1", T.fault.reset))
ngx.sleep(0.3)
show("line after reset arrived", sock:receive("*l"))
sock:close()
