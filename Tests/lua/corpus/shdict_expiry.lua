-- http: lua_shared_dict d 1m;
-- expiry to the millisecond: ttl, expire, get_stale, flush_all, flush_expired, get_keys
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local d = ngx.shared.d
show(d:set("a", 1, 0.0015)) show(d:ttl("a")) show(d:set("z", 1, 0.0005)) show(d:ttl("z")) show(d:set("p", 1)) show(d:ttl("p"))
show(d:set("e", "old", 0.01, 3)) show(d:get("e"))
ngx.sleep(0.05)
show(d:get_stale("e")) show(d:ttl("e") < 0) show(d:get("e")) show(d:get_stale("e")) show(d:ttl("z")) show(d:ttl("nope"))
show(d:set("g", 1, 100)) local t = d:ttl("g") show(t > 99, t <= 100)
show(d:expire("g", 0.5)) show(d:ttl("g")) show(d:expire("g", 0)) show(d:ttl("g")) show(d:expire("g", -5)) show(d:ttl("g")) show(d:expire("nope", 1))
show(d:set("r", "v", 0.01)) ngx.sleep(0.03) show(d:get_stale("r")) show(d:expire("r", 10)) show(d:get("r")) show(d:ttl("r"))
show(d:set("ad", "v", 0.01)) ngx.sleep(0.03) show(d:add("ad", "new")) show(d:get("ad"))
show(d:set("rp", "v", 0.01)) ngx.sleep(0.03) show(d:replace("rp", "new"))
d:flush_all()
for i = 1, 5 do d:set("k" .. i, i) end
show(table.concat(d:get_keys(), ",")) show(d:get("k2")) show(table.concat(d:get_keys(), ",")) show(table.concat(d:get_keys(2), ",")) show(#d:get_keys(0))
show(d:flush_all()) show(select("#", d:flush_all())) show(#d:get_keys()) show(d:get("k5")) show(d:get_stale("k5"))
show(d:flush_expired()) show(d:get_stale("k5"))
for i = 1, 5 do d:set("x" .. i, i, 0.001) end d:set("keep", 1)
ngx.sleep(0.01)
show(d:flush_expired(2)) show(d:flush_expired(0)) show(d:flush_expired()) show(table.concat(d:get_keys(), ","))
for i = 1, 3000 do d:set("many" .. i, i) end
show(#d:get_keys()) show(#d:get_keys(0)) show(#d:get_keys(-1))
