-- a connect waiting in the backlog queue times out with the connect timeout
local function show(...) local t = {} for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end ngx.say(table.concat(t, " ")) end
local opts = { pool = "bt", pool_size = 1, backlog = 5 }
local a = ngx.socket.tcp()
show("A connect", a:connect("127.0.0.1", T.fault.echo, opts))
local b = ngx.socket.tcp()
b:settimeout(100)
show("B connect (waits)", b:connect("127.0.0.1", T.fault.echo, opts))
show("A setkeepalive", a:setkeepalive())
local c = ngx.socket.tcp()
show("C connect", c:connect("127.0.0.1", T.fault.echo, opts))
show("C reused", c:getreusedtimes())
c:close()
local d = ngx.socket.tcp()
show("D connect after close", d:connect("127.0.0.1", T.fault.echo, opts))
d:close()
