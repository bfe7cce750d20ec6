-- sockets that Lua collects leave nothing behind in the next ones: timeouts, state, binds
for i = 1, 5 do
  local s = ngx.socket.tcp()
  s:settimeout(10)
  assert(s:connect("127.0.0.1", T.fault.stall))
  ngx.say(i, " short timeout: ", select(2, s:receive()))
  if i % 2 == 0 then s:close() end  -- the others are left for the end of the request... or GC
end
collectgarbage()
collectgarbage()
local fresh = ngx.socket.tcp()
ngx.say("fresh send: ", fresh:send("x"))
ngx.say("fresh receive: ", fresh:receive())
ngx.say("fresh reused: ", fresh:getreusedtimes())
assert(fresh:connect("127.0.0.1", T.fault.stall))
-- the default timeout (60 s) outlasts the stall (500 ms): the line arrives whole
ngx.say("fresh line: ", fresh:receive())
fresh:close()
local kept = {}
for i = 1, 3 do
  kept[i] = ngx.socket.tcp()
  assert(kept[i]:connect("127.0.0.1", T.fault.echo))
end
collectgarbage()
for i = 1, 3 do
  ngx.say("kept ", i, ": ", kept[i]:send("k" .. i .. "\n"), " ", kept[i]:receive())
  kept[i]:close()
end
