-- http: resolver 127.0.0.1:{dns_port} ipv6=off;
-- differs: ours tries a name's addresses in turn (multi.test: 127.0.0.1 and three refusing ones); the reference picks one at random and fails when it refuses
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local connected, refused = 0, 0
for _ = 1, 24 do
  local t = ngx.socket.tcp()
  local ok, err = t:connect("multi.test", T.fault.echo)
  if ok then connected = connected + 1 t:close() elseif err == "connection refused" then refused = refused + 1 else show("error", err) end
end
show("all connected", connected == 24)
show("some refused", refused > 0)
