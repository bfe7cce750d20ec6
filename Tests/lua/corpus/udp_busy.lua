-- one operation waits at a time: the others answer "socket busy"; the waiting read keeps its socket
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local s = ngx.socket.udp()
s:settimeout(150)
show(s:setpeername("127.0.0.1", T.fault.udp_mute))
local t = ngx.thread.spawn(function() show("thread", s:receive()) end)
show("receive", s:receive())
show("send", s:send("x"))
show("close", s:close())
show("setpeername", s:setpeername("127.0.0.1", T.fault.udp_echo))
show(ngx.thread.wait(t))
show("close after", s:close())
