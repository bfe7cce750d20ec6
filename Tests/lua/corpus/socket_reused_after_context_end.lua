-- a socket a finished timer left open is closed with its timer; once collected, the sockets
-- created after it still connect, read and time out normally
local done = false
local ok, err = ngx.timer.at(0, function()
  local s = ngx.socket.tcp()
  assert(s:connect("127.0.0.1", T.fault.echo))
  s:send("left open\n")
  done = true
end)
ngx.say("timer: ", ok, " ", err)
while not done do ngx.sleep(0.01) end
ngx.sleep(0.05)  -- the timer's context has ended
collectgarbage()
collectgarbage()
for i = 1, 3 do
  local s = ngx.socket.tcp()
  s:settimeout(200)
  assert(s:connect("127.0.0.1", T.fault.echo))
  ngx.say(i, " echo: ", s:send("ping" .. i .. "\n"), " ", s:receive())
  assert(s:connect("127.0.0.1", T.fault.mute))
  ngx.say(i, " mute: ", s:receive())
  s:close()
end
