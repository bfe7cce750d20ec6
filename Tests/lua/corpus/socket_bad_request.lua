-- a socket belongs to the request (or timer) that connected it; another one gets "bad request"
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
local result
assert(ngx.timer.at(0, function()
  result = { pcall(sock.send, sock, "x\n") }
end))
for _ = 1, 50 do
  if result then break end
  ngx.sleep(0.01)
end
show("from a timer", result[1], result[2])
show("own request", sock:send("y\n"), sock:receive())
sock:close()
