-- one light thread reads while another writes on the same socket
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
local reader = ngx.thread.spawn(function()
  local got = {}
  for i = 1, 5 do
    local line, err = sock:receive()
    if not line then return "error " .. tostring(err) end
    got[#got + 1] = line
  end
  return table.concat(got, ",")
end)
local writer = ngx.thread.spawn(function()
  for i = 1, 5 do
    local ok, err = sock:send("msg" .. i .. "\n")
    if not ok then return "error " .. tostring(err) end
    ngx.sleep(0.01)
  end
  return "sent 5"
end)
show("writer", ngx.thread.wait(writer))
show("reader", ngx.thread.wait(reader))
sock:close()
