-- 64 KiB datagrams: receive() takes up to 65536 bytes; larger sends fail with the kernel's words
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local s = ngx.socket.udp()
s:settimeout(1000)
show(s:setpeername("127.0.0.1", T.fault.udp_echo))
local big = string.rep("0123456789", 6550) .. "0123456"
show(#big, s:send(big))
local d, e = s:receive() show(d and #d, d == big, e)
show(s:send(big))
d, e = s:receive(100000) show(d and #d, e)
show(s:send(big))
d, e = s:receive(9000) show(d and #d, d == big:sub(1, 9000), e)
show(s:send(big .. "x"))
show(s:send(string.rep("x", 70000)))
show(s:send({big, "xy"}))
show(s:send("after")) show(s:receive())
