-- http: lua_socket_read_timeout 150ms;
-- settimeout()/settimeouts() argument handling; 0 means "use the directive's value"
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
local function try(label, f, ...) show(label, pcall(f, sock, ...)) end
try("settimeout 100", sock.settimeout, 100)
try("settimeout 0", sock.settimeout, 0)
try("settimeout 1.5", sock.settimeout, 1.5)
try("settimeout string", sock.settimeout, "x")
try("settimeout numeric string", sock.settimeout, "100")
try("settimeout nil", sock.settimeout, nil)
try("settimeout -1", sock.settimeout, -1)
try("settimeout missing", sock.settimeout)
try("settimeout two", sock.settimeout, 1, 2)
try("settimeouts 1 2 3", sock.settimeouts, 1, 2, 3)
try("settimeouts two", sock.settimeouts, 1, 2)
try("settimeouts negative", sock.settimeouts, 1, -2, 3)
try("settimeouts zeros", sock.settimeouts, 0, 0, 0)
-- timeouts set before connect apply to the connection
sock:settimeout(20)
assert(sock:connect("127.0.0.1", T.fault.mute))
ngx.update_time()
local t0 = ngx.now()
show("read with 20ms", sock:receive())
sock:settimeout(0)
show("read with directive (0)", sock:receive())
ngx.update_time()
local dt = ngx.now() - t0
show("both took 0.1 .. 1 s", dt >= 0.1 and dt < 1)
sock:settimeouts(5000, 5000, 30)
show("settimeouts read 30ms", sock:receive(1))
sock:close()
