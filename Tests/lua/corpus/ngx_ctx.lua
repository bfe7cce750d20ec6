-- ngx.ctx is per request: light threads share it, a timer gets its own, and it can be replaced
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
ngx.ctx.user = "main"
local t = ngx.thread.spawn(function() ngx.ctx.from_thread = true return ngx.ctx.user end)
show("thread sees", ngx.thread.wait(t))
show("main sees thread's write", ngx.ctx.from_thread)
local seen
assert(ngx.timer.at(0, function() seen = { ngx.ctx.user, type(ngx.ctx) } end))
for _ = 1, 50 do if seen then break end ngx.sleep(0.01) end
show("timer sees", tostring(seen[1]), seen[2])
ngx.ctx = { replaced = 1 }
show("replaced", ngx.ctx.replaced, ngx.ctx.user)
