-- http: lua_shared_dict d 1m;
-- lists: lpush/rpush/lpop/rpop/llen, value types, lists vs plain values
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local d = ngx.shared.d
show(d:lpush("L", 1)) show(d:rpush("L", "two")) show(d:lpush("L", "zero")) show(d:rpush("L", "")) show(d:llen("L"))
show(d:lpush("L", true)) show(d:lpush("L", nil)) show(d:lpush("L", {})) show(d:rpush("L", 1/0))
show(d:get("L")) show(d:get_stale("L")) show(d:llen("L"))
show(d:rpop("L")) show(d:lpop("L")) show(d:lpop("L")) show(d:rpop("L")) show(d:lpop("L")) show(d:llen("L")) show(d:lpop("L")) show(select("#", d:lpop("L")))
show(d:get("L")) show(d:llen("nope")) show(d:rpop("nope"))
show(d:set("k", "v")) show(d:lpush("k", 1)) show(d:rpush("k", 1)) show(d:lpop("k")) show(d:rpop("k")) show(d:llen("k"))
show(d:rpush("q", "a")) show(d:set("q", "plain")) show(d:get("q")) show(d:rpush("q2", "a")) show(d:delete("q2")) show(d:llen("q2"))
show(d:rpush("r", "a")) show(d:replace("r", "b")) show(d:get("r")) show(d:rpush("a", 1)) show(d:add("a", 2))
for i = 1, 100 do d:rpush("many", i) end
show(d:llen("many")) show(d:lpop("many")) show(d:rpop("many")) show(d:llen("many"))
show(d:lpush(5, "num key")) show(d:llen(5)) show(d:lpop("5"))
show(d:rpush("e", 1)) show(d:expire("e", 0.001)) ngx.sleep(0.01) show(d:llen("e")) show(d:lpop("e")) show(d:rpush("e", 2)) show(d:llen("e")) show(d:ttl("e"))
show(d:set("sx", 1, 0.001)) ngx.sleep(0.01) show(d:rpush("sx", "list now")) show(d:lpop("sx"))
