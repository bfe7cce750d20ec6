-- redis pipelining: commands are buffered and the replies come back together
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function need(name) local ok, m = pcall(require, "resty." .. name) if ok then return m end return require("nginx." .. name) end
local redis = need("redis")
local red = redis:new()
red:set_timeout(1000)
assert(red:connect("127.0.0.1", T.redis_port))
red:init_pipeline()
red:set("corpus:p1", "one")
red:set("corpus:p2", "two")
red:get("corpus:p1")
red:get("corpus:p2")
red:get("corpus:p-missing")
red:incr("corpus:p1")
local results, err = red:commit_pipeline()
show("commit", type(results), err, #results)
for i, res in ipairs(results) do
  if type(res) == "table" then
    show(i, "error", res[1], res[2])
  else
    show(i, res == ngx.null and "null" or res)
  end
end
show("empty commit", red:commit_pipeline())
red:init_pipeline()
show("cancel", red:cancel_pipeline())
red:del("corpus:p1", "corpus:p2")
red:close()
