-- self-overlapping patterns: "--abc" after "---", "--ab--abc", "aab" in "aaab"
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.boundary))  -- "first--abcsecond---abcthird--ab--abcfourth--a"
local reader = sock:receiveuntil("--abc")
for i = 1, 5 do
  local data, err, partial = reader()
  show(i, data, err, partial)
end
sock:close()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:send("xaaabyaabaab|aaaab|")
local r2 = sock:receiveuntil("aab")
show("aab 1", r2())
show("aab 2", r2())
show("aab 3", string.format("%q", r2()))
show("aab 4", r2())
show("rest", sock:receive(1))
sock:send("abababac|")
local r3 = sock:receiveuntil("ababac")
show("ababac", string.format("%q", r3()))
show("rest", sock:receive(1))
sock:send("aaaaaaaab")
show("aaab", sock:receiveuntil("aaab")())
sock:close()
