-- setpeername: argument checks, ports, and the host forms nginx's URL parser takes
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local s = ngx.socket.udp()
show(pcall(s.setpeername, s))
show(pcall(s.setpeername, s, "127.0.0.1", 1, 2))
show(pcall(s.setpeername, s, nil, 1))
show(pcall(s.setpeername, s, {}, 1))
show(pcall(s.setpeername, "x", "127.0.0.1", 5))
show(pcall(s.setpeername, s, "127.0.0.1", "x"))
show(pcall(s.setpeername, s, "127.0.0.1", nil))
show("port string", s:setpeername("127.0.0.1", "12"))
show("port fraction", s:setpeername("127.0.0.1", 1.9))
show("port wraps", s:setpeername("127.0.0.1", 4294967297))
show("port 0", s:setpeername("127.0.0.1", 0))
show("no port", s:setpeername("127.0.0.1"))
show(s:setpeername("127.0.0.1", 65536))
show(s:setpeername("127.0.0.1", -1))
for _, h in ipairs{"", "127.0.0.1:abc", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:0", "127.0.0.1:99",
                   "[::1]", "[::1]:53", "[::1", "::1", ":53", "unix:"} do
  show(string.format("%q", h), s:setpeername(h, 5353))
end
