-- settimeout(100) bounds connect() to a listener whose accept queue is full
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
sock:settimeout(100)
local t0 = ngx.now()
show("connect", sock:connect("127.0.0.1", T.fault.full_backlog))
ngx.update_time()
local dt = ngx.now() - t0
show("took between 0.05 and 2 s", dt >= 0.05 and dt < 2)
show("send after timeout", sock:send("x"))
show("close", sock:close())
show("connect elsewhere", sock:connect("127.0.0.1", T.fault.echo))
sock:close()
