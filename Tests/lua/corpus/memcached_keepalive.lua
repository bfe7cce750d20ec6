-- memcached connections reused through set_keepalive
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function need(name) local ok, m = pcall(require, "resty." .. name) if ok then return m end return require("nginx." .. name) end
local memcached = need("memcached")
for i = 1, 3 do
  local memc = memcached:new()
  memc:set_timeout(1000)
  assert(memc:connect("127.0.0.1", T.memcached_port))
  show(i, "reused", memc:get_reused_times())
  show(i, "set", memc:set("corpus_ka", "round " .. i))
  show(i, "get", memc:get("corpus_ka"))
  show(i, "set_keepalive", memc:set_keepalive(10000, 5))
end
local memc = memcached:new()
show("connect refused", memc:connect("127.0.0.1", T.closed_port))
show("get when not connected", memc:get("x"))
