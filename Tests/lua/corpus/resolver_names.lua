-- http: resolver 127.0.0.1:{dns_port} ipv6=off;
-- http: resolver_timeout 2s;
-- names through the resolver directive (a local dnsmasq): udp setpeername and tcp connect, NXDOMAIN, CNAME
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local u = ngx.socket.udp()
u:settimeout(1000)
show("udp", u:setpeername("echo.test", T.fault.udp_echo))
show(u:send("via a name")) show(u:receive())
show("alias", u:setpeername("alias.test", T.fault.udp_echo))
show(u:send("via an alias")) show(u:receive())
show("nxdomain", u:setpeername("nx.test", T.fault.udp_echo))
show("ipv6 off", u:setpeername("six.test", T.fault.udp_echo))
local t = ngx.socket.tcp()
show("tcp", t:connect("echo.test", T.fault.echo))
show(t:send("line\n")) show(t:receive())
show("tcp again (cached)", t:connect("ECHO.test", T.fault.echo))
show("tcp nxdomain", t:connect("nx.test", T.fault.echo))
show("tcp refused", t:connect("echo.test", T.closed_port))
show("truncated answer, over tcp", t:connect("big.test", T.fault.echo))
