-- differs: bind exists (a later upstream method; 0.10.23 has none): the local address of the next setpeername
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local s = ngx.socket.udp()
show(type(s.bind))
if not s.bind then return end
show(s:bind("127.0.0.1"))
show(s:bind("localhost"))
show(pcall(s.bind, s))
show(pcall(s.bind, s, nil))
s:settimeout(500)
show(s:setpeername("127.0.0.1", T.fault.udp_echo))
show(s:send("bound")) show(s:receive())
local t = ngx.socket.udp()
show(t:bind("127.0.0.2"))
show(t:setpeername("127.0.0.1", T.fault.udp_echo))
show(t:send("from 127.0.0.2")) show(t:receive())
local u = ngx.socket.udp()
show(u:bind("192.0.2.1"))
show(u:setpeername("127.0.0.1", T.fault.udp_echo))
