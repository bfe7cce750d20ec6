-- http: lua_shared_dict d 1m;
-- bad input: keys (nil, empty, 65535/65536 bytes, tables), exptimes, flags, zones, argument counts
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local d = ngx.shared.d
show(d:set(nil, 1)) show(d:set("", 1)) show(d:set(string.rep("a", 65536), 1)) show(d:set(string.rep("a", 65535), 1)) show(d:get(string.rep("a", 65535)))
show(d:get(nil)) show(d:get("")) show(d:get(string.rep("b", 65536))) show(d:get_stale(nil)) show(d:ttl(nil)) show(d:ttl("")) show(d:expire(nil, 1)) show(d:incr(nil, 1)) show(d:incr("", 1))
show(d:delete(nil)) show(d:delete(""))
show(pcall(d.set, d, "k", "v", -1)) show(pcall(d.set, d, "k", "v", 0/0)) show(d:ttl("k")) show(pcall(d.set, d, "k", "v", "x"))
show(pcall(d.set, d, "k", "v", true)) show(pcall(d.set, d, "k", "v", {})) show(pcall(d.set, d, "k", "v", false))
show(pcall(d.set, d, "k", "v", 0, "5")) show(pcall(d.set, d, "k", "v", 0, {}))
show(pcall(d.set, d, nil, "v", -1))
show(pcall(d.get)) show(pcall(d.get, {})) show(pcall(d.get, {1})) show(pcall(d.get, "d", "k")) show(pcall(d.set, {}, "k", 1)) show(pcall(d.incr, nil, "k", 1))
show(pcall(d.ttl, {})) show(pcall(d.expire, {}, "k", 1)) show(pcall(d.flush_all)) show(pcall(d.capacity, 1)) show(pcall(d.free_space, {}))
show(pcall(d.expire, d, "k")) show(pcall(d.expire, d, "k", false)) show(pcall(d.expire, d, "k", "x")) show(pcall(d.expire, d, "k", {})) show(d:expire("k", "10")) show(d:ttl("k"))
show(pcall(d.lpush, d, "L")) show(pcall(d.lpush, d, "L", 1, 2)) show(pcall(d.lpop, d)) show(pcall(d.rpop, d, "L", 1)) show(pcall(d.llen, d, "a", 1))
show(pcall(d.lpush, d, {}, 1)) show(pcall(d.lpush, d, true, 1)) show(pcall(d.lpop, d, {})) show(pcall(d.lpush, "x", "a", 1)) show(pcall(d.lpush, {}, "a", 1)) show(pcall(d.llen, {1}, "a"))
show(d:lpush(nil, 1)) show(d:lpush("", 1)) show(d:lpush(string.rep("c", 65536), 1)) show(d:lpop(nil)) show(d:llen(""))
show(pcall(d.get_keys, d, 1, 2)) show(pcall(d.get_keys, d, "x")) show(pcall(d.get_keys, d, nil)) show(pcall(d.get_keys, {})) show(pcall(d.get_keys, "x"))
show(pcall(d.flush_expired, d, "x")) show(pcall(d.flush_expired, d, 1, 2)) show(pcall(d.flush_expired, {1}))
show(d:set(12.5, "num key")) show(d:get("12.5")) show(d:llen(12.5))
local big = string.rep("x", 1048576)
show(d:set("big", big)) show(d:safe_set("big", big)) show(d:add("big", big)) show(d:get("big"))
