-- require "ngx.re": split (with captures, max, ctx, res, empty matches) and opt("jit_stack_size")
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, "|") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
local re = require "ngx.re"
show(type(re.split), type(re.opt), ngx.re.split)
show(perr(pcall(re.opt, "nope", 1)))
show(perr(pcall(re.opt, "jit_stack_size", 128 * 1024)))
show(perr(pcall(re.opt, "jit_stack_size", 1)))
ngx.re.match("a", "a")
show(perr(pcall(re.opt, "jit_stack_size", 64 * 1024)))
ngx.re.match("a", "a", "jo")
show(perr(pcall(re.opt, "jit_stack_size", 128 * 1024)))
local function list(t) if type(t) ~= "table" then return tostring(t) end local r = {} for i = 1, #t do r[i] = t[i] == "" and '""' or tostring(t[i]) end return "[" .. table.concat(r, "|") .. "] n=" .. #t end
show(list(re.split("a,b,c,d", ",")))
show(list(re.split("a,b,,c,,", ",")))
show(list(re.split(",a,b", ",")))
show(list(re.split("a,b;c", "[,;]")))
show(list(re.split("a,b;c", "([,;])")))
show(list(re.split("a1b22c", "([0-9])+")))
show(list(re.split("a1b", "(x)?([0-9])")))
show(list(re.split("abc", "")))
show(list(re.split("abc", "x*")))
show(list(re.split("a,b,c,d", ",", nil, nil, 2)))
show(list(re.split("a,b,c,d", ",", nil, nil, 1)))
show(list(re.split("a,b,c,d", ",", nil, nil, 0)))
show(list(re.split("a,b,c,d", ",", nil, nil, -3)))
show(list(re.split("a,b,,", ",", nil, nil, 10)))
show(list(re.split("", ",")))
show(list(re.split(",", ",")))
show(list(re.split(",,,", ",")))
show(list(re.split("abc", ",")))
show(list(re.split("héllo wörld", "\\s", "u")))
show(list(re.split("aXbxc", "x", "i")))
show(list(re.split("aXbxc", "x", "jo")))
show(list(re.split(12305, "0")))
local ctx = { pos = 3 }
show(list(re.split("a,b,c", ",", nil, ctx)), ctx.pos)
ctx = {}
show(list(re.split("a,b,c", ",", nil, ctx)), ctx.pos)
ctx = { pos = 10 }
show(list(re.split("a,b,c", ",", nil, ctx)), ctx.pos)
local res = { "x", "y", "z", "w", "v" }
local t = re.split("1,2", ",", nil, nil, nil, res)
show(t == res, list(res), res[3], res[4], res[5])
show(perr(pcall(re.split, "a,b", ",", nil, nil, nil, "res")))
show(perr(pcall(re.split, "a,b", ",", "Q")))
show(perr(pcall(re.split, "a,b", nil)))
show(perr(pcall(re.split, "a,b", ",", nil, nil, "2")))
