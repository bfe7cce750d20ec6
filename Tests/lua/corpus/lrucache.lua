-- lua-resty-lrucache (Debian's), both implementations: set, get, expiry, eviction of the least
-- recently used, delete, count/capacity, flags, get_keys, flush_all
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
for _, name in ipairs({ "resty.lrucache", "resty.lrucache.pureffi" }) do
  local lrucache = require(name)
  show(name, lrucache._VERSION)
  local c = assert(lrucache.new(3))
  c:set("a", 1) c:set("b", { x = 2 }) c:set("c", "three")
  show(c:get("a"), c:get("b").x, c:get("c"), c:get("none"))
  c:get("a")                -- a is now the most recent: b is the least
  c:set("d", 4)
  show("evicted b:", c:get("b"), c:get("a"), c:get("c"), c:get("d"))
  show(c:count(), c:capacity())
  c:set("t", "short", 0.05, 7)
  show(c:get("t"))
  ngx.sleep(0.1)
  show("expired:", c:get("t"))
  c:delete("a")
  show("deleted:", c:get("a"), c:count())
  c:set("n", false)
  show("false value:", c:get("n"))
  local keys = c:get_keys()
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  show("keys:", table.concat(keys, ","))
  c:flush_all()
  show("flushed:", c:get("c"), c:get("d"), c:count())
  local big = lrucache.new(100)
  for i = 1, 150 do big:set("k" .. i, i) end
  show("big:", big:get("k1"), big:get("k50"), big:get("k51"), big:get("k150"), big:count())
  show(pcall(lrucache.new, 0))
end
