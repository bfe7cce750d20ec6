-- http: lua_shared_dict d 1m;
-- http: lua_shared_dict other 100k;
-- ngx.shared: set/get/add/replace/delete of every value type, flags, return-value counts
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local d = ngx.shared.d
show(type(ngx.shared), type(d), type(ngx.shared.missing), type(d[1]), #d)
show(getmetatable(d) == getmetatable(ngx.shared.other), getmetatable(d).__index == getmetatable(d))
show(d:set("s", "hello")) show(d:get("s")) show(select("#", d:get("s")))
show(d:set("n", 3.25)) show(d:get("n"))
show(d:set("t", true)) show(d:get("t")) show(d:set("f", false, 0, 9)) show(d:get("f"))
show(d:set("e", "")) show(d:get("e"))
show(d:set("flags", "v", 0, 7)) show(d:get("flags")) show(d:get_stale("flags")) show(d:get_stale("s"))
show(d:set("neg", "v", 0, -1)) show(d:get("neg")) show(d:set("big", "v", 0, 2^40)) show(d:get("big")) show(d:set("frac", "v", 0, 3.7)) show(d:get("frac")) show(d:set("bf", "v", 0, true)) show(d:get("bf"))
show(d:get("missing")) show(select("#", d:get("missing"))) show(select("#", d:get_stale("missing")))
show(d:add("s", "x")) show(d:add("s2", "x")) show(d:get("s2")) show(d:safe_add("s3", 1)) show(d:safe_add("s3", 1))
show(d:replace("nope", 1)) show(d:replace("s", "world")) show(d:get("s")) show(d:replace("s", 42)) show(d:get("s"))
show(d:add("s", nil)) show(d:replace("s", nil)) show(d:set("s", nil)) show(d:get("s"))
show(d:delete("s2")) show(d:delete("s2")) show(d:get("s2")) show(select("#", d:delete("s2")))
show(d:safe_set("ss", "v")) show(d:get("ss"))
show(d:set(1, "one")) show(d:get(1)) show(d:get("1")) show(d:set(true, "yes")) show(d:get("true")) show(d:get(true))
show(d:set("tbl", {})) show(d:set("fn", print)) show(d:set("null", ngx.null)) show(d:lpush("tbl", true))
show(d:capacity()) show(ngx.shared.other:capacity(), ngx.shared.other:free_space())
show(ngx.shared.other:get("n"), ngx.shared.other:set("x", 1), d:get("x"))
