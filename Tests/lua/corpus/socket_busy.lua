-- two light threads on one socket: a second concurrent reader (or writer/connect) is refused
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.stall))   -- "hello " now, "world\r\n" after 500 ms
local log = {}
local function reader(id)
  local line, err, partial = sock:receive("*l")
  log[#log + 1] = id .. ": " .. tostring(line) .. " " .. tostring(err) .. " " .. tostring(partial)
end
local t1 = ngx.thread.spawn(reader, "first")
local t2 = ngx.thread.spawn(reader, "second")
ngx.thread.wait(t1)
ngx.thread.wait(t2)
for _, l in ipairs(log) do ngx.say(l) end
sock:close()
assert(sock:connect("127.0.0.1", T.fault.mute))
sock:settimeout(500)
local t3 = ngx.thread.spawn(function() return sock:receive() end)
show("receiveany while reading", sock:receiveany(1))
show("receiveuntil while reading", sock:receiveuntil("x")())
show("setkeepalive while reading", sock:setkeepalive())
show("connect while reading", pcall(sock.connect, sock, "127.0.0.1", T.fault.echo))
show("close while reading", sock:close())
show("reader result", ngx.thread.wait(t3))
