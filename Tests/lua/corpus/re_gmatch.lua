-- ngx.re.gmatch: iteration, empty matches advance one byte, exhausted iterators, UTF-8
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, ",") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
local it = ngx.re.gmatch("hello, world 42", "([a-z]+)|([0-9]+)")
show(type(it))
while true do local m, err = it() if not m then show("end", m, err) break end show(dump(m)) end
show("after end", it())
show("after end", it())
for m in ngx.re.gmatch("abc", "") do show(dump(m)) end
for m in ngx.re.gmatch("aXbXXc", "X*") do show(dump(m)) end
for m in ngx.re.gmatch("", "") do show("empty subject", dump(m)) end
for m in ngx.re.gmatch("", "x") do show("never", dump(m)) end
for m in ngx.re.gmatch("a1b22", "(?<d>[0-9]+)", "jo") do show(dump(m)) end
for m in ngx.re.gmatch("héllo", ".") do show("bytes", #m[0]) end
for m in ngx.re.gmatch("héllo", ".", "u") do show("chars", m[0]) end
local it2 = ngx.re.gmatch("héllo", "", "u")
for i = 1, 4 do local ok, m, err = pcall(it2) show(ok, type(m), err) end
for m in ngx.re.gmatch("ab", "(?<x>a)|(?<x>b)", "D") do show(dump(m)) end
for m in ngx.re.gmatch("hello world", "l+", "d") do show(dump(m)) end
for m in ngx.re.gmatch(12321, "2") do show(dump(m)) end
local it3 = ngx.re.gmatch("a\255b", "b", "u")
show(it3())
show(it3())
show(perr(pcall(ngx.re.gmatch, "ab", nil)))
show(perr(pcall(ngx.re.gmatch, "ab", "a", "Z")))
local a = ngx.re.gmatch("1 2 3", "[0-9]")
local b = ngx.re.gmatch("4 5 6", "[0-9]")
show(a()[0], b()[0], a()[0], b()[0], a()[0], b()[0], a(), b())
