-- a light thread outlives the timer entry thread that spawned it; a later timer's entry thread
-- (which may run on a recycled entry coroutine) is not its parent: it may neither kill it nor
-- wait for it
local t, finished
ngx.timer.at(0, function()
  t = ngx.thread.spawn(function() ngx.sleep(0.1) finished = true end)
end)
ngx.sleep(0.02)
local seen
ngx.timer.at(0, function()
  local ok, err = ngx.thread.kill(t)
  local waited, werr = pcall(ngx.thread.wait, t)
  seen = "kill: " .. tostring(ok) .. " " .. tostring(err) .. "\nwait: " .. tostring(waited) .. " "
    .. (tostring(werr):gsub("^.-:%d+: ", ""))
end)
while not seen do ngx.sleep(0.01) end
ngx.say(seen)
ngx.say("finished: ", tostring(finished))
ngx.sleep(0.15)
ngx.say("finished: ", tostring(finished))
