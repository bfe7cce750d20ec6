-- differs: our resolver reads /etc/hosts, so "localhost" resolves without a resolver directive
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
local ok, err = sock:connect("localhost", T.fault.echo)
show("localhost", ok, err)
if ok then
  show("send", sock:send("hi\n"))
  show("receive", sock:receive())
  sock:close()
end
