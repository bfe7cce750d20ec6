-- setoption/getoption: supported names, values and return values
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local sock = ngx.socket.tcp()
local ok, err = pcall(sock.setoption, sock, "keepalive", true)
show("unconnected setoption", ok, strip(err))
ok, err = pcall(sock.getoption, sock, "keepalive")
show("unconnected getoption", ok, strip(err))
assert(sock:connect("127.0.0.1", T.fault.echo))
local function try(name, value) show("set", name, value, "->", sock:setoption(name, value)) end
try("keepalive", true)
try("keepalive", 1)
try("keepalive", 0)
try("keepalive", false)
try("reuseaddr", 1)
try("tcp-nodelay", true)
try("tcp-nodelay", 1)
try("sndbuf", 65536)
try("rcvbuf", 65536)
ok = pcall(sock.setoption, sock, "sndbuf", "x")
show("set sndbuf string raises", not ok)
try("nodelay", 1)
try("keepalive")
try(nil, 1)
for _, name in ipairs({"keepalive", "reuseaddr", "tcp-nodelay", "bogus"}) do
  show("get", name, sock:getoption(name))
end
show("get", "nil", sock:getoption(nil))
local sb = sock:getoption("sndbuf")
show("sndbuf is number", type(sb), sb and sb > 0)
show("still works", sock:send("x\n"), sock:receive())
sock:close()
show("closed setoption", sock:setoption("keepalive", true))
