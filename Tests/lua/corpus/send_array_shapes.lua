-- send() of tables built in different ways: elements go out in index order, whatever the
-- table's layout, and a bad key is reported before a bad element
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
local function try(name, data)
  local ok, sent, err = pcall(sock.send, sock, data)
  if not ok then return show(name, "error:", strip(sent)) end
  if not sent then return show(name, "failed:", err) end
  show(name, sent, (sock:receive(sent)))
end
local reversed = {}
reversed[3] = "c\n" reversed[2] = "b" reversed[1] = "a"
try("keys set backwards", reversed)
local sparse = {}
sparse[1] = "x" sparse[100] = "y\n"
try("far key", sparse)
local grown = {}
for i = 1, 20 do grown[i] = tostring(i % 10) end
grown[21] = "\n"
try("grown list", grown)
try("nested", {"a", {"b", {"c", 1, 2.5}}, "\n"})
try("float key", {"a", [1.5] = "b"})
try("bad element then hash key", {"a", true, x = 1})
try("hole then hash key", {"a", nil, "c", y = 2})
try("zero key", {[0] = "z", "a\n"})
try("empty table then line", {{}, "\n"})
-- a bad element deep in nested tables is found without re-walking each level many times
local deep = {true}
for _ = 1, 40 do deep = {deep} end
local t0 = os.clock()
try("deeply nested bad element", deep)
show("in well under a second:", os.clock() - t0 < 0.5)
sock:close()
