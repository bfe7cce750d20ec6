-- http: lua_shared_dict d 1m;
-- incr: init, init_ttl, non-numbers, NaN and infinities, argument errors
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local d = ngx.shared.d
show(d:incr("n", 1)) show(d:incr("n", 1, 10)) show(select("#", d:incr("n", 1, 10))) show(d:incr("n", 1, 10)) show(select("#", d:incr("n", 1)))
show(d:incr("n", -2.5)) show(d:incr("n", "2")) show(d:incr("n", " 0x10 "))
show(pcall(d.incr, d, "n", nil)) show(pcall(d.incr, d, "n", "x")) show(pcall(d.incr, d, "n", {})) show(pcall(d.incr, d, "n", true))
show(pcall(d.incr, d, "n", 1, "x")) show(pcall(d.incr, d, "n", 1, {})) show(d:incr("n", 1, "5")) show(d:incr("n", 1, false))
show(pcall(d.incr, d, "m", 1, 0, -1)) show(pcall(d.incr, d, "m", 1, nil, 1)) show(pcall(d.incr, d, "m", 1, 0, "x")) show(pcall(d.incr, d, "m", 1, 0, false))
show(d:incr("m", 1, 0, "0.5")) show(d:ttl("m")) show(d:incr("m", 1, 0, 0)) show(d:ttl("m"))
show(d:set("s", "str")) show(d:incr("s", 1)) show(d:incr("s", 1, 0)) show(d:set("b", true)) show(d:incr("b", 1))
show(d:lpush("L", 1)) show(d:incr("L", 1)) show(d:incr("L", 1, 0))
show(d:set("x", 1, 0, 5)) show(d:incr("x", 1)) show(d:get("x"))
show(d:incr("nan", 0/0, 0)) show(d:incr("nan", 1)) show(d:incr("inf", 1/0, 0)) show(d:incr("inf", -1/0)) show(d:incr("big", 2^53, 2^53))
show(d:incr(7, 1, 0)) show(d:get("7"))
