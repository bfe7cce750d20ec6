-- ngx.sleep yields; sleeping threads interleave by wake-up time
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local order = {}
local function sleeper(name, secs)
  ngx.sleep(secs)
  order[#order + 1] = name
end
local t1 = ngx.thread.spawn(sleeper, "c", 0.15)
local t2 = ngx.thread.spawn(sleeper, "a", 0.05)
local t3 = ngx.thread.spawn(sleeper, "b", 0.1)
ngx.thread.wait(t1) ngx.thread.wait(t2) ngx.thread.wait(t3)
show("order", table.concat(order, ""))
show("sleep 0", ngx.sleep(0))
show("sleep -1", pcall(ngx.sleep, -1))
show("sleep string", pcall(ngx.sleep, "x"))
show("sleep missing", pcall(ngx.sleep))
ngx.update_time()
local t0 = ngx.now()
ngx.sleep(0.1)
ngx.update_time()
local dt = ngx.now() - t0
show("slept ~0.1", dt >= 0.09 and dt < 0.5)
