-- port values out of range or not numbers
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
for _, p in ipairs({0, 65535, 65536, -1, 70000, "abc", "80x", "", 1.9}) do
  show("port", string.format("%q", tostring(p)), pcall(sock.connect, sock, "127.0.0.1", p))
end
show("nil port", pcall(sock.connect, sock, "127.0.0.1", nil))
show("table port", pcall(sock.connect, sock, "127.0.0.1", {}))
