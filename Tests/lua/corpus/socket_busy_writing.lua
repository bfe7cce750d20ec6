-- a second writer while a send is blocked
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.no_read))
sock:settimeout(300)
local t1 = ngx.thread.spawn(function() return sock:send(string.rep("x", 16 * 1024 * 1024)) end)
show("second send", sock:send("y"))
show("first send", ngx.thread.wait(t1))
sock:close()
