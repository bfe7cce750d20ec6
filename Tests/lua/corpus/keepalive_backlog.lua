-- pool_size = 1 with backlog = 1: one connection, one waiter, the third connect is rejected
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local opts = { pool = "bl", pool_size = 1, backlog = 1 }
local results = {}
local function worker(id, hold)
  local sock = ngx.socket.tcp()
  sock:settimeout(2000)
  local ok, err = sock:connect("127.0.0.1", T.fault.echo, opts)
  results[#results + 1] = id .. " connect " .. tostring(ok) .. " " .. tostring(err)
  if not ok then return end
  results[#results + 1] = id .. " reused " .. tostring(sock:getreusedtimes())
  ngx.sleep(hold)
  local ok2, err2 = sock:setkeepalive()
  results[#results + 1] = id .. " setkeepalive " .. tostring(ok2) .. " " .. tostring(err2)
end
local t1 = ngx.thread.spawn(worker, "A", 0.2)
local t2 = ngx.thread.spawn(worker, "B", 0)
local t3 = ngx.thread.spawn(worker, "C", 0)
ngx.thread.wait(t1, t2, t3)
ngx.thread.wait(t1)
ngx.thread.wait(t2)
for _, line in ipairs(results) do ngx.say(line) end
