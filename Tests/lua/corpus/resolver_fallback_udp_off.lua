-- impl: ours
-- http: resolver 127.0.0.1:{dns_port} ipv6=off;
-- http: lua_socket_connect_fallback off;
-- udpsock:setpeername to a name with four addresses (only 127.0.0.1 has memcached's UDP port): with fallback on the first address always, with it off one picked at random as the reference picks (the others draw ICMP port unreachable: "connection refused")
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local answered, refused = 0, 0
for _ = 1, 24 do
  local u = ngx.socket.udp()
  u:settimeout(1000)
  assert(u:setpeername("multi.test", T.memcached_udp_port))
  assert(u:send("\0\1\0\0\0\1\0\0version\r\n"))
  local data, err = u:receive()
  if data then answered = answered + 1 elseif err == "connection refused" then refused = refused + 1 else show("error", err) end
  u:close()
end
show("all answered", answered == 24)
show("some refused", refused > 0)
