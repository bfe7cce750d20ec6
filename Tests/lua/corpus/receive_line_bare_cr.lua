-- what happens to CR bytes that are not followed by LF inside a line
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:send("a\rb\r\r\nc\r\r\r\n\rd\n\r\n")
for i = 1, 4 do
  local line, err = sock:receive("*l")
  show(i, string.format("%q", tostring(line)), err)
end
sock:send("tail\r")
sock:settimeout(200)
local line, err, partial = sock:receive("*l")
show("unterminated", line, err, string.format("%q", tostring(partial)))
sock:close()
