-- ngx.timer.running_count / pending_count
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
show("initial", ngx.timer.running_count(), ngx.timer.pending_count())
local release = false
assert(ngx.timer.at(0, function() while not release do ngx.sleep(0.01) end end))
assert(ngx.timer.at(10, function() end))
show("just created", ngx.timer.running_count(), ngx.timer.pending_count())
ngx.sleep(0.05)
show("one running", ngx.timer.running_count(), ngx.timer.pending_count())
release = true
ngx.sleep(0.05)
show("released", ngx.timer.running_count(), ngx.timer.pending_count())
