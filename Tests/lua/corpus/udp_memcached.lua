-- memcached's UDP protocol: an 8-byte frame header (request id, sequence, count, reserved) per datagram
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function frame(id, body) return string.char(math.floor(id / 256), id % 256, 0, 0, 0, 1, 0, 0) .. body end
local function unframe(d)
  if not d then return nil end
  return d:byte(1) * 256 + d:byte(2), d:byte(3) * 256 + d:byte(4), d:byte(5) * 256 + d:byte(6), d:sub(9)
end
local tcp = ngx.socket.tcp()
assert(tcp:connect("127.0.0.1", T.memcached_port))
tcp:send("set udpkey 0 0 5\r\nhello\r\n") show("tcp set", tcp:receive())
tcp:close()
local s = ngx.socket.udp()
s:settimeout(1000)
show(s:setpeername("127.0.0.1", T.memcached_udp_port))
show(s:send(frame(7, "get udpkey\r\n")))
local id, seq, total, body = unframe(s:receive())
show(id, seq, total, string.format("%q", body))
show(s:send({frame(8, ""), "get ", "missing", "\r\n"}))
id, seq, total, body = unframe(s:receive())
show(id, seq, total, string.format("%q", body))
show(s:send(frame(9, "version\r\n")))
id, seq, total, body = unframe(s:receive())
show(id, body:sub(1, 7))
show(s:close())
