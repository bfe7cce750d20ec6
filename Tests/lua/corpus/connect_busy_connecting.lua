-- a connect in progress (a light thread's) makes the entry thread's connect "busy connecting";
-- loopback TCP connects still resume their thread from the event loop, as nginx's EINPROGRESS does
local sock = ngx.socket.tcp()
local t = ngx.thread.spawn(function()
  ngx.say("thread: send before connect: ", sock:send("x"))
  ngx.say("thread: connect: ", sock:connect("127.0.0.1", T.fault.echo))
end)
ngx.say("main: connect while the thread connects: ", sock:connect("127.0.0.1", T.fault.echo))
ngx.thread.wait(t)
ngx.say("main: send ", sock:send("ping\n"), " receive ", sock:receive())
sock:close()
-- two sockets connecting at once: both threads yield, in spawn order
local order = {}
local function connect(name)
  local s = ngx.socket.tcp()
  local ok, err = s:connect("127.0.0.1", T.fault.echo)
  order[#order + 1] = name .. " " .. tostring(ok)
  s:close()
end
local a = ngx.thread.spawn(connect, "a")
local b = ngx.thread.spawn(connect, "b")
order[#order + 1] = "main after spawning"
ngx.thread.wait(a, b)
ngx.thread.wait(b)
ngx.say(table.concat(order, ", "))
