-- unix: paths that do not exist or are not sockets
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local sock = ngx.socket.tcp()
show("missing", sock:connect("unix:/nonexistent/dir/x.sock"))
show("regular file", sock:connect("unix:/etc/hosts"))
show("empty path", sock:connect("unix:"))
show("directory", sock:connect("unix:/tmp"))
show("then ok", sock:connect("unix:" .. T.unix_echo))
sock:close()
