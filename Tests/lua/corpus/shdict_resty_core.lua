-- http: lua_shared_dict d 1m;
-- http: lua_shared_dict s20 20k;
-- Debian's lua-resty-core shdict.lua (the reference's methods) over our ngx_http_lua_ffi_shdict_* C ABI
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
require "resty.core.shdict"
local d = ngx.shared.d
show(debug.getinfo(getmetatable(d).get, "S").source, debug.getinfo(getmetatable(d).incr, "S").source)
show(d:set("s", "hello", 0, 7)) show(d:get("s")) show(d:get_stale("s")) show(d:set("n", 2.5)) show(d:get("n")) show(d:set("b", false)) show(d:get("b"))
show(d:set("long", string.rep("x", 5000))) show(#d:get("long")) show(d:set("e", "")) show(d:get("e"))
show(d:add("s", 1)) show(d:replace("none", 1)) show(d:safe_add("sa", 1)) show(d:add("sa", nil)) show(d:delete("sa")) show(d:get("sa"))
show(d:incr("c", 1)) show(d:incr("c", 1, 10)) show(d:incr("c", 2)) show(d:incr("s", 1)) show(pcall(d.incr, d, "c", "x"))
show(d:set("t", 1, 0.0015)) show(d:ttl("t")) show(d:ttl("none")) show(d:expire("t", 0)) show(d:ttl("t")) show(d:expire("none", 1))
show(d:lpush("L", 1)) show(d:get("L")) show(d:incr("L", 1)) show(d:lpop("L"))
show(d:set(nil, 1)) show(d:set("", 1)) show(d:get(string.rep("k", 65536))) show(pcall(d.set, d, "k", 1, -1)) show(pcall(d.get, {}))
show(d:capacity(), d:free_space()) d:flush_all() show(d:get("s")) show(d:get_stale("s")) show(#d:get_keys(0)) show(d:flush_expired())
local s = ngx.shared.s20
local v = string.rep("v", 100)
local n = 0
while true do local ok, err, forcible = s:set("key" .. n, v) if not ok or forcible then show("set", n, ok, err, forcible) break end n = n + 1 end
show(s:get("key0")) show(s:safe_set("safe", v)) show(s:set("huge", string.rep("h", 20000))) show(#s:get_keys(0)) show(s:free_space())
