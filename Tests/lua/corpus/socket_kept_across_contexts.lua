-- a socket created and connected by a timer, used by the request after the timer ended: closed,
-- and connect refuses it ("bad request"), as in the reference
local kept
local done = false
ngx.timer.at(0, function()
  kept = ngx.socket.tcp()
  assert(kept:connect("127.0.0.1", T.fault.echo))
  done = true
end)
while not done do ngx.sleep(0.01) end
ngx.sleep(0.05)
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local ok, a, b = pcall(kept.send, kept, "x\n")
ngx.say("send: ", ok, " ", a, " ", b)
ok, a = pcall(kept.connect, kept, "127.0.0.1", T.fault.echo)
ngx.say("connect: ", ok, " ", strip(a))
ok, a, b = pcall(kept.receive, kept)
ngx.say("receive: ", ok, " ", a, " ", b)
