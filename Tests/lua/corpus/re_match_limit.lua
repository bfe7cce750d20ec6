-- lua_regex_match_limit: a pattern that backtracks past the limit fails with the match-limit code, in every function
-- http: lua_regex_match_limit 5000;
-- http: lua_regex_cache_max_entries 2;
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, ",") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
local subject = string.rep("a", 18) .. "b"
show(ngx.re.match(subject, "(a|aa)+$"))
show(ngx.re.match(subject, "(a|aa)+$", "o"))
show(ngx.re.match(subject, "(a|aa)+$", "jo"))
show(ngx.re.find(subject, "(a|aa)+$"))
show(ngx.re.gsub(subject, "(a|aa)+$", ""))
show(ngx.re.gmatch(subject, "(a|aa)+$")())
show(require("ngx.re").split(subject, "(a|aa)+$"))
show(ngx.re.match(subject, "(a|aa)+$", "d") ~= nil)
show(dump(ngx.re.match("aab", "(a|aa)+b")))
-- more o patterns than lua_regex_cache_max_entries: still matched right
for i = 1, 5 do show(i, dump(ngx.re.match("x" .. i, "x(" .. i .. ")", "o")), ngx.re.gsub("x" .. i, tostring(i), "<$0>", "o")) end
for i = 1, 5 do show(i, dump(ngx.re.match("x" .. i, "x(" .. i .. ")", "o"))) end
