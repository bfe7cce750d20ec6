-- the methods a tcp socket object has
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("type", type(sock))
for _, name in ipairs({"bind", "close", "connect", "getoption", "getreusedtimes", "receive",
                       "receiveany", "receiveuntil", "send", "setkeepalive", "setoption",
                       "settimeout", "settimeouts", "sslhandshake"}) do
  show(name, type(sock[name]))
end
show("metatable __index is itself", getmetatable(sock).__index == getmetatable(sock))
show("same metatable", getmetatable(sock) == getmetatable(ngx.socket.tcp()))
show("tcp() with args", pcall(ngx.socket.tcp, 1))
show("udp exists", type(ngx.socket.udp))
