-- bad input: catastrophic backtracking under the default match limit, invalid UTF-8 with u, big subjects, patterns with NUL bytes
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, ",") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
local evil = string.rep("a", 30) .. "b"
show(ngx.re.match(evil, "(a+)+$"))
show(ngx.re.find(evil, "(a+)+$"))
show(ngx.re.match(evil, "(a+)+$", "j"))
show(ngx.re.gsub(evil, "(a+)+$", "x"))
show(ngx.re.sub(evil, "(a+)+$", function() return "x" end))
local it = ngx.re.gmatch(evil, "(a+)+$")
show(it())
show(require("ngx.re").split(evil, "(a+)+$"))
show(ngx.re.match(evil, "(a+)+$", "d") ~= nil)
show(dump(ngx.re.match(evil, "(a+)+b")))
-- invalid UTF-8 subjects with u
show(ngx.re.match("a\255b", "b", "u"))
show(ngx.re.find("a\255b", "b", "u"))
show(ngx.re.gsub("a\255b", "b", "c", "u"))
show(ngx.re.match("\192\128", ".", "u"))
show(ngx.re.match("\237\160\128", ".", "u"))
show(ngx.re.match("\244\144\128\128", ".", "u"))
show(ngx.re.match("é", "^.", "u")[0])
local ctx = { pos = 2 } show(ngx.re.match("é", ".", "u", ctx))
show(#ngx.re.match("a\255b", "a.b")[0])
-- a 1 MiB subject
local big = string.rep("x", 1024 * 1024) .. "needle" .. string.rep("y", 1024)
show(ngx.re.find(big, "needle", "jo"))
show(ngx.re.find(big, "ne+dle"))
local s, n = ngx.re.gsub(big, "x", "", "jo") show(#s, n)
s, n = ngx.re.gsub(big, "y+", "Y") show(#s, n)
-- a pattern with a NUL byte ends there (a C string to PCRE)
show(dump(ngx.re.match("a\0b", "a\0(b)")))
show(dump(ngx.re.match("ab", "a\0(b)")))
show(ngx.re.sub("ab", "a\0b", "x"))
