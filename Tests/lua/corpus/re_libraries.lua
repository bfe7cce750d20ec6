-- Debian's lua-nginx-dns (its ngx.re.sub helpers) and lua-nginx-websocket's client (ws:// and wss:// URLs parsed with ngx.re.match) use ngx.re unchanged
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function dump(m) if type(m) ~= "table" then return tostring(m) end local keys = {} for k in pairs(m) do keys[#keys + 1] = k end table.sort(keys, function(a, b) if type(a) == type(b) then return a < b end return type(a) == "number" end) local t = {} for _, k in ipairs(keys) do local v = m[k] if type(v) == "table" then local r = {} for i, x in ipairs(v) do r[i] = tostring(x) end v = "{" .. table.concat(r, ",") .. "}" else v = v == "" and '""' or tostring(v) end t[#t + 1] = tostring(k) .. "=" .. v end return "{" .. table.concat(t, " ") .. "}" end
local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end
local function perr(ok, ...) if ok then return ok, ... end return ok, strip((...)) end
local resolver = require "nginx.dns.resolver"
show(resolver.expand_ipv6_addr("::1"))
show(resolver.expand_ipv6_addr("2001:db8::ff00:42:8329"))
show(resolver.expand_ipv6_addr("::ffff:1.2.3.4"))
show(resolver.compress_ipv6_addr("2001:0:0:0:0:0:0:1"))
show(resolver.compress_ipv6_addr("0:0:0:0:0:0:0:1"))
show(resolver.compress_ipv6_addr("1:0:0:2:0:0:0:3"))
show(resolver.arpa_str("1.2.3.4"))
show(resolver.arpa_str("2001:db8::1"))
local client = require "nginx.websocket.client"
local function try(uri, opts)
    local ws = client:new({ timeout = 1000 })
    show((uri:gsub(":%d+", ":PORT")), ws:connect(uri, opts))
end
try("http://127.0.0.1/")
try("ws//127.0.0.1/")
try("ws://127.0.0.1:" .. T.closed_port .. "/path")
try("wss://127.0.0.1:" .. T.closed_port)
try("ws://127.0.0.1:" .. T.fault.http .. "/x?y=1")
