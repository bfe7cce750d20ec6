-- the pattern arrives one byte at a time (slow_drip sends "hello--abc--world\r\n")
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.slow_drip))
local reader = sock:receiveuntil("--abc")
show("part", reader())
show("line", sock:receive("*l"))
show("next part", reader())
sock:close()
