-- ngx.socket.udp(): a table with a shared metatable; operations before setpeername answer closed
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local s = ngx.socket.udp()
local names = {} for k in pairs(getmetatable(s)) do if k ~= "bind" then names[#names + 1] = k end end
table.sort(names)
show(type(s), table.concat(names, " "))
show(getmetatable(s) == getmetatable(ngx.socket.udp()), getmetatable(s).__index == getmetatable(s))
show(pcall(ngx.socket.udp, 1))
show("send", s:send("x"))
show("receive", s:receive())
show("receive bad size", s:receive("x"))
show("close", s:close())
show(pcall(s.close, s, 1))
show(pcall(s.send, s))
show(pcall(s.receive, s, 1, 2))
show(pcall(s.send, "x", "y"))
