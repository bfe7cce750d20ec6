-- LF-only line endings, then a last line without newline before close
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.greet_lines))
for i = 1, 4 do
  local line, err, partial = sock:receive("*l")
  show(i, string.format("%q", tostring(line)), err, string.format("%q", tostring(partial)))
end
sock:close()
