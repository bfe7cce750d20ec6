-- ngx.semaphore coordinating light threads: a mutex around one shared cosocket, ping-pong
-- hand-offs, a post from a timer, a wait inside a pcall, a killed waiter
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local semaphore = require "ngx.semaphore"
local sock = ngx.socket.tcp()
show("connect", sock:connect("127.0.0.1", T.fault.echo))
local mutex = semaphore.new(1)
local log = {}
local function worker(name)
  for i = 1, 3 do
    local ok, err = mutex:wait(1)
    if not ok then log[#log + 1] = name .. " " .. tostring(err) return end
    sock:send(name .. i .. "\n")
    local line = sock:receive()
    log[#log + 1] = line
    mutex:post()
  end
end
local a = ngx.thread.spawn(worker, "a")
local b = ngx.thread.spawn(worker, "b")
ngx.thread.wait(a) ngx.thread.wait(b)
table.sort(log)
show(table.concat(log, " ")) show("mutex count", mutex:count())
sock:close()
local ping, pong = semaphore.new(), semaphore.new()
local hits = 0
local t = ngx.thread.spawn(function()
  for i = 1, 1000 do
    local ok, err = ping:wait(1)
    if not ok then return "ping " .. err end
    hits = hits + 1
    pong:post()
  end
  return "done"
end)
for i = 1, 1000 do ping:post() local ok, err = pong:wait(1) if not ok then show("pong", err) break end end
show("ping-pong", ngx.thread.wait(t)) show("hits", hits, ping:count(), pong:count())
local s = semaphore.new()
ngx.timer.at(0.02, function() s:post(2) end)
show("timer post", s:wait(1)) show("left", s:count(), s:wait(0))
show("pcall wait", pcall(s.wait, s, 0.01))
local coop = semaphore.new()
local waiting = ngx.thread.spawn(function() return coop:wait(5) end)
show("before kill", coop:count()) show("kill", ngx.thread.kill(waiting)) show("after kill", coop:count())
coop:post() show(coop:wait(0)) show(coop:count())
local s2 = semaphore.new()
local results = {}
for i = 1, 3 do ngx.thread.spawn(function() results[i] = { s2:wait(i == 2 and 0.01 or 1) } end) end
ngx.sleep(0.05)
show("after one timeout", s2:count()) s2:post(5) show(s2:count()) ngx.sleep(0.01)
for i = 1, 3 do show(i, unpack(results[i])) end
show(s2:count())
