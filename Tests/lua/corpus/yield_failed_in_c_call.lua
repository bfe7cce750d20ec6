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
