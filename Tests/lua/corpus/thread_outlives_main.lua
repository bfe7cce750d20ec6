-- the entry thread may finish before its light threads; the output waits for them
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
ngx.thread.spawn(function()
  local sock = ngx.socket.tcp()
  assert(sock:connect("127.0.0.1", T.fault.echo))
  ngx.sleep(0.1)
  sock:send("late\n")
  show("thread", sock:receive())
  sock:close()
end)
ngx.thread.spawn(function()
  show("second thread starts at once")
end)
show("main done")
