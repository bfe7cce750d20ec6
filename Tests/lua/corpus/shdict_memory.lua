-- http: lua_shared_dict d 1m;
-- http: lua_shared_dict small 12k;
-- http: lua_shared_dict s20 20k;
-- capacity and free_space by nginx's slab sizes; LRU eviction, forcible, no memory
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local d = ngx.shared.d
show(d:capacity(), d:free_space())
show(ngx.shared.small:capacity(), ngx.shared.small:free_space()) show(ngx.shared.small:set("k", "v")) show(ngx.shared.small:safe_set("k2", "v"))
show(ngx.shared.small:set("k3", "v")) show(ngx.shared.small:get("k")) show(ngx.shared.small:lpush("l", 1))
show(d:set("a", string.rep("x", 10))) show(d:free_space())
show(d:set("b", string.rep("x", 3000))) show(d:free_space()) show(d:set("b", string.rep("y", 3000))) show(d:free_space())
show(d:set("c", string.rep("x", 20000))) show(d:free_space()) show(d:delete("c")) show(d:free_space())
d:flush_all() d:flush_expired() show(d:free_space())
local s = ngx.shared.s20
show(s:capacity(), s:free_space())
local v = string.rep("v", 100)
local n = 0
while true do
  local ok, err, forcible = s:set("key" .. n, v)
  if not ok or forcible then show("set", n, ok, err, forcible) break end
  n = n + 1
end
show(s:get("key0")) show(s:get("key1")) show(s:get("key" .. n)) show(#s:get_keys(0))
show(s:get("key2")) show(s:set("new1", v)) show(s:get("key2")) show(s:get("key3"))
show(s:safe_set("new2", v)) show(s:safe_add("new3", v)) show(s:add("new3", v))
show(s:incr("cnt", 1, 0)) show(s:lpush("list", "a")) show(s:free_space())
for i = 1, 200 do s:set("fill" .. i, string.rep("f", 40)) end
show(#s:get_keys(0)) show(s:free_space())
show(s:set("huge", string.rep("h", 8000))) show(s:free_space()) show(#s:get_keys(0))
show(s:set("huge2", string.rep("h", 20000)))
for i = 1, 100000 do local ok = s:rpush("L", string.rep("l", 50)) if not ok then show("rpush stops at", i, s:rpush("L", "x")) break end end
show(s:llen("L")) show(s:set("after", 1))
