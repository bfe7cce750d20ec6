-- differs: the reference (lua-nginx-module 0.10.23 from Debian) has no tcpsock:shutdown; ours implements shutdown("send")
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("has shutdown", type(sock.shutdown))
if sock.shutdown then
  show("unconnected", sock:shutdown("send"))
  assert(sock:connect("127.0.0.1", T.fault.echo))
  show("send", sock:send("before shutdown"))
  show("shutdown", sock:shutdown("send"))
  show("send after shutdown", sock:send("x"))
  show("receive all", sock:receive("*a"))
  show("close", sock:close())
end
