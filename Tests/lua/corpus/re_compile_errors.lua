-- differs: a PCRE2 build words compile errors as pcre2_compile() failed: <PCRE2 message> in "<pattern>" at "<rest>" (the reference, built with PCRE1, says pcre_compile() and PCRE1 messages); cut to 127 bytes as the reference cuts them
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, ",") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
show(ngx.re.match("abc", "("))
show(ngx.re.match("abc", "(?<x>a)(?<x>b)"))
show(ngx.re.match("abc", "[a-"))
show(ngx.re.match("abc", "a{2,1}"))
show(ngx.re.match("abc", "(?<1a>x)"))
show(ngx.re.match("abc", "\\"))
show(ngx.re.match("abc", "x)"))
show(ngx.re.find("abc", "("))
show(ngx.re.gmatch("abc", "("))
show(ngx.re.sub("abc", "(", "x"))
show(ngx.re.gsub("abc", "(", function() end))
show(require("ngx.re").split("abc", "("))
show(ngx.re.match("abc", "(", "o"))
show(ngx.re.match("abc", "(", "jo"))
show(ngx.re.match("abc", "(", "d"))
local _, e = ngx.re.match("\255", "\255", "u") show((e:gsub("[\128-\255]", function(c) return string.format("<%02X>", c:byte()) end)))
show(ngx.re.match("abc", "(" .. string.rep("x", 200)))
local huge = string.rep("a", 1024 * 1024)
local m, err = ngx.re.match(huge, huge)
show(m, #err, err:sub(1, 70))
m, err = ngx.re.match("a", "(?:" .. string.rep("a|", 1024 * 512) .. "b)")
show(m, #err, err:sub(1, 70))
