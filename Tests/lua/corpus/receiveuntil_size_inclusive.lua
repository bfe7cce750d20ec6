-- an inclusive iterator called with a size: pieces of at most size data bytes; the pattern comes whole on the piece that reaches it unless that piece is already full
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:settimeout(300)
sock:send("xx--abcyy--abc--abcz")
local reader = sock:receiveuntil("--abc", { inclusive = true })
for i = 1, 9 do show("size 1", i, reader(1)) end
sock:send("abc--abcdefg--abch")
for i = 1, 6 do show("size 3", i, reader(3)) end
sock:close()
