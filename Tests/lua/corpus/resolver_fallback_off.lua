-- impl: ours
-- http: resolver 127.0.0.1:{dns_port} ipv6=off;
-- http: lua_socket_connect_fallback off;
-- lua_socket_connect_fallback off restores the reference's single address picked at random (resolver_fallback.expected, the reference's output)
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local connected, refused = 0, 0
for _ = 1, 24 do
  local t = ngx.socket.tcp()
  local ok, err = t:connect("multi.test", T.fault.echo)
  if ok then connected = connected + 1 t:close() elseif err == "connection refused" then refused = refused + 1 else show("error", err) end
end
show("all connected", connected == 24)
show("some refused", refused > 0)
