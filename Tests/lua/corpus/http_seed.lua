-- the seed example: a tiny HTTP request over a cosocket
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
sock:settimeout(1000)
show("connect", sock:connect("127.0.0.1", T.fault.http))
show("send", sock:send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
show("status line", sock:receive())
local headers = {}
while true do
  local line, err = sock:receive()
  if not line or line == "" then break end
  headers[#headers + 1] = line
end
show("headers", table.concat(headers, " | "))
show("body", sock:receive(5))
show("eof", sock:receive())
show("close", sock:close())
