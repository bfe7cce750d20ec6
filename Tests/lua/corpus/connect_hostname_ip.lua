-- host names that are IP literals need no resolver; other forms fail to parse or resolve
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("string ip", sock:connect("127.0.0.1", T.fault.echo))
sock:close()
show("port as string", sock:connect("127.0.0.1", tostring(T.fault.echo)))
sock:close()
show("empty host", sock:connect("", T.fault.echo))
show("bad octet", sock:connect("256.1.1.1", T.fault.echo))
show("number host", sock:connect(123, T.fault.echo))
