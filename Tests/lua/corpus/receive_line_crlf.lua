-- receive("*l") strips CRLF line endings; empty lines come back as ""
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:send("first\r\nsecond\r\n\r\nfourth\r\n")
for i = 1, 4 do
  local line, err, partial = sock:receive("*l")
  show(i, string.format("%q", tostring(line)), err, partial)
end
sock:send("x\r\n")
show("pattern *l", sock:receive("*l"))
sock:send("y\r\n")
show("pattern l without star", pcall(sock.receive, sock, "l"))
sock:close()
