-- a timer callback uses a cosocket and signals back through a shared upvalue
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local result = {}
local function handler(premature, port, msg)
  local sock = ngx.socket.tcp()
  local ok, err = sock:connect("127.0.0.1", port)
  if not ok then result.err = err return end
  sock:send(msg .. "\n")
  result.line = sock:receive()
  result.premature = premature
  sock:close()
end
show("ngx.timer.at", ngx.timer.at(0, handler, T.fault.echo, "from timer"))
for i = 1, 50 do
  if result.line or result.err then break end
  ngx.sleep(0.02)
end
show("result", result.line, result.err, result.premature)
show("bad delay", pcall(ngx.timer.at, -1, handler))
show("bad callback", pcall(ngx.timer.at, 0, "x"))
