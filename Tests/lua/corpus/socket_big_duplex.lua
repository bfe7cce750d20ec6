-- 1 MiB through the echo server, one thread writing while another reads
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
sock:settimeout(10000)
local chunk = string.rep("0123456789abcdef", 64)   -- 1 KiB
local writer = ngx.thread.spawn(function()
  local total = 0
  for i = 1, 1024 do
    local n, err = sock:send(chunk)
    if not n then return "error " .. err end
    total = total + n
  end
  return total
end)
local reader = ngx.thread.spawn(function()
  local data, err = sock:receive(1024 * 1024)
  if not data then return "error " .. err end
  return #data, data == string.rep(chunk, 1024)
end)
show("writer", ngx.thread.wait(writer))
show("reader", ngx.thread.wait(reader))
sock:close()
