-- http: lua_socket_connect_timeout 100ms;
-- the connect timeout comes from the lua_socket_connect_timeout directive
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
local t0 = ngx.now()
show("connect", sock:connect("127.0.0.1", T.fault.full_backlog))
ngx.update_time()
show("took less than 2 s", ngx.now() - t0 < 2)
