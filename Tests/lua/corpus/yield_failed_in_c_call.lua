-- an operation that cannot yield (called from inside a C function, the error caught by pcall)
-- leaves nothing behind for the entry thread that runs next
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local first, second
ngx.timer.at(0, function()
  local ok, err = pcall(string.gsub, "x", "x", function() ngx.sleep(0.01) end)
  first = tostring(ok) .. " " .. strip(err)
end)
ngx.sleep(0.02)
ngx.timer.at(0, function()
  coroutine.yield()
  ngx.sleep(0.001)
  second = "yielded and slept"
end)
ngx.sleep(0.05)
ngx.say("first timer: ", first)
ngx.say("second timer: ", tostring(second))
-- nor for the same thread: its next sleep lasts in full, and a plain yield comes back
local ok, err = pcall(string.gsub, "x", "x", function() ngx.sleep(0.05) end)
ngx.say("in the request: ", tostring(ok), " ", strip(err))
ngx.update_time()
local started = ngx.now()
ngx.sleep(0.3)
ngx.update_time()
ngx.say("slept in full: ", ngx.now() - started >= 0.25)
coroutine.yield()
ngx.say("yield came back")
