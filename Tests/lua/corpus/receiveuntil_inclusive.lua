-- the inclusive option keeps the pattern at the end of each part
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or type(v) == "function" and "<function>" or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.boundary))
local reader = sock:receiveuntil("--abc", { inclusive = true })
for i = 1, 5 do
  show(i, reader())
end
sock:close()
local function try(label, opts)
  show(label, pcall(sock.receiveuntil, sock, "x", opts))
end
assert(sock:connect("127.0.0.1", T.fault.echo))
try("inclusive false", { inclusive = false })
try("inclusive string", { inclusive = "yes" })
try("inclusive number", { inclusive = 1 })
try("options string", "inclusive")
try("empty options", {})
sock:close()
