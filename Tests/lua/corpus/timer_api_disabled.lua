-- inside a timer, request APIs such as ngx.say are disabled but cosockets and ngx.sleep work
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local result = {}
assert(ngx.timer.at(0, function(premature)
  result.premature = premature
  result.say = { pcall(ngx.say, "from timer") }
  result.sleep = { pcall(ngx.sleep, 0.01) }
  local sock = ngx.socket.tcp()
  result.connect = { sock:connect("127.0.0.1", T.fault.echo) }
  sock:close()
  result.phase = ngx.get_phase()
  result.done = true
end))
for i = 1, 50 do
  if result.done then break end
  ngx.sleep(0.02)
end
show("premature", result.premature)
show("ngx.say", unpack(result.say))
show("ngx.sleep", unpack(result.sleep))
show("connect", unpack(result.connect))
show("phase", result.phase)
