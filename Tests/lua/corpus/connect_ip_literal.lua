-- connect to an IPv4 literal, round-trip one line through the echo server
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("connect", sock:connect("127.0.0.1", T.fault.echo))
show("reused", sock:getreusedtimes())
show("send", sock:send("ping\n"))
show("receive", sock:receive())
show("close", sock:close())
