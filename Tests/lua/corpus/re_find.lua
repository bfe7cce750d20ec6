-- ngx.re.find: positions, nth, ctx.pos, errors as a third value
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, ",") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
show(ngx.re.find("hello, 1234", "[0-9]+"))
show(ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 0))
show(ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 1))
show(ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 2))
show(ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 3))
show(ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, -1))
show(ngx.re.find("hello", "(h)(x)?", nil, nil, 2))
show(ngx.re.find("hello", "(x)?(h)", nil, nil, 1))
show(ngx.re.find("hello", "(h)(x)?(y)?", nil, nil, 3))
show(ngx.re.find("hello", "z"))
show(select("#", ngx.re.find("hello", "z")))
show(ngx.re.find("hello", ""))
show(ngx.re.find("", ""))
show(ngx.re.find("hello", "l+", "d", nil, 0))
show(ngx.re.find("hello", "(l)+", "d", nil, 1))
show(ngx.re.find(12345, "3"))
local ctx = {}
show(ngx.re.find("abab", "b", nil, ctx), ctx.pos)
show(ngx.re.find("abab", "b", nil, ctx), ctx.pos)
show(ngx.re.find("abab", "b", nil, ctx), ctx.pos)
ctx = { pos = 3 } show(ngx.re.find("abab", "a", nil, ctx), ctx.pos)
ctx = { pos = 3.7 } show(ngx.re.find("abab", "a", nil, ctx), ctx.pos)
ctx = { pos = 9 } show(ngx.re.find("abab", "a", nil, ctx), ctx.pos)
show(perr(pcall(ngx.re.find, "ab", "b", nil, nil, "1")))
show(perr(pcall(ngx.re.find, "ab", "b", nil, nil, {})))
show(ngx.re.find("ab", "b", nil, nil, false))
show(perr(pcall(ngx.re.find, "ab", nil)))
show(perr(pcall(ngx.re.find, "ab", "a", 7)))
