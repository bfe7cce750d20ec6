-- differs: the reference leaves the read pending (the socket stays busy reading, and the read may resume a later wait of the coroutine); ours drops it and closes the connection
-- a cosocket read called where it cannot yield (a string.gsub callback): the error, then what
-- the socket does next
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local sock = ngx.socket.tcp()
assert(sock:connect("127.0.0.1", T.fault.echo))
local ok, err = pcall(string.gsub, "x", "x", function() return sock:receive() end)
ngx.say("in a C call: ", tostring(ok), " ", strip(err))
local sent, serr = sock:send("hello\n")
ngx.say("send after: ", tostring(sent), " ", tostring(serr))
local line, rerr = sock:receive()
ngx.say("receive after: ", tostring(line), " ", tostring(rerr))
sock:close()
