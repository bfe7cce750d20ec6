-- ngx.run_worker_thread's results, errors and refusals (WorkerThreadTests); the expected
-- output is the reference's (ref-nginx with thread_pool testpool threads=4).
local function show(...) local t = {} for i = 1, select('#', ...) do local v = select(i, ...) if type(v) == "table" then local k = {} for kk, vv in pairs(v) do k[#k+1] = tostring(kk) .. ":" .. (type(vv) == "table" and "{" .. tostring(vv.x) .. "}" or tostring(vv)) end table.sort(k) v = "{" .. table.concat(k, ",") .. "}" end t[i] = (tostring(v):gsub("^.-wtmod%.lua", "wtmod.lua")) end ngx.say(select('#', ...), " ", table.concat(t, " ")) end
show(ngx.run_worker_thread("testpool", "wtmod", "add", 1, 2))
show(ngx.run_worker_thread("testpool", "wtmod", "multi", "a", nil, true, 1.5))
show(ngx.run_worker_thread("testpool", "wtmod", "tab", {1, 2, k = {y = "z"}}))
show(ngx.run_worker_thread("testpool", "wtmod", "fail"))
show(ngx.run_worker_thread("testpool", "wtmod", "apis"))
show(ngx.run_worker_thread("testpool", "wtmod", "retfn"))
show(ngx.run_worker_thread("testpool", "wtmod", "nothing"))
show(ngx.run_worker_thread("testpool", "wtmod", "notfn"))
show(ngx.run_worker_thread("testpool", "wtmod", "missing"))
local ok, err = ngx.run_worker_thread("testpool", "nomod", "f") ngx.say(ok, " ", (err:match("^[^\n]*")))
show(ngx.run_worker_thread("nopool", "wtmod", "add", 1, 2))
show(pcall(ngx.run_worker_thread, "testpool", "wtmod", "add", function() end))
show(pcall(ngx.run_worker_thread, "testpool", "wtmod", "add", coroutine.create(function() end)))
show(pcall(ngx.run_worker_thread, "testpool", "wtmod"))
show(pcall(ngx.run_worker_thread, "testpool"))
show(pcall(ngx.run_worker_thread))
show(pcall(ngx.run_worker_thread, 1, 2, 3))
show(pcall(ngx.run_worker_thread, "testpool", "wtmod", "add", ngx.null))
local t = {} t.self = t
show(pcall(ngx.run_worker_thread, "testpool", "wtmod", "tab", t))
show(ngx.run_worker_thread("testpool", "wtmod", "sleepy", 50))
