-- receiveuntil(pattern) returns an iterator that reads up to (not including) the pattern
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:send("foo--abcbar--abc--abc\r\nrest\n")
local reader = sock:receiveuntil("--abc")
show("type", type(reader))
show("1", reader())
show("2", reader())
show("3 (empty part)", string.format("%q", tostring(reader())))
show("line after", string.format("%q", tostring(sock:receive())))
show("line", sock:receive())
sock:close()
