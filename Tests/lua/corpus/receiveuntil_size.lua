-- the iterator called with a size returns chunks of at most size bytes, then nil at the pattern
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:settimeout(300)
sock:send("0123456789--abcxyz--abc")
local reader = sock:receiveuntil("--abc")
for i = 1, 5 do
  show(i, reader(4))
end
show("next part whole", reader())
show("waiting for more", reader(4))
show("bad size", pcall(reader, -1))
show("size 0", pcall(reader, 0))
show("size string", pcall(reader, "x"))
show("size numeric string", pcall(reader, "2"))
show("too many", pcall(reader, 1, 2))
sock:send("ab--abc")
show("inclusive with size")
local r2 = sock:receiveuntil("--abc", { inclusive = true })
for i = 1, 4 do show(i, r2(3)) end
sock:close()
