-- the read timeout is per wait, not per receive() call: a slow but steady peer never times out
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.slow_drip))  -- 19 bytes, one every 50 ms
sock:settimeout(150)
local line, err, partial = sock:receive("*l")
show("line", line, err, partial)
show("eof", sock:receive("*a"))
sock:close()
