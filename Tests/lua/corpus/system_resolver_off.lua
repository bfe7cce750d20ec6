-- impl: ours
-- system-resolver: dnsmasq
-- http: lua_system_resolver off;
-- lua_system_resolver off restores the reference's refusal of names without a resolver directive (system_resolver.expected, the reference's output)
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local t = ngx.socket.tcp()
show("tcp", t:connect("echo.test", T.fault.echo))
if t:getreusedtimes() then show(t:send("line\n")) show(t:receive()) end
t:close()
show("tcp nxdomain", t:connect("nx.test", T.fault.echo))
local u = ngx.socket.udp()
u:settimeout(1000)
show("udp", u:setpeername("echo.test", T.fault.udp_echo))
if u:send("datagram") then show(u:receive()) end
show("udp nxdomain", u:setpeername("nx.test", T.fault.udp_echo))
