-- Debian's lua-nginx-dns (resty.dns.resolver) against the local dnsmasq, over UDP and over TCP, unchanged
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
if not ngx.re then
  -- ngx.re is being built elsewhere: the library captures ngx.re.sub at load but uses it only
  -- for IPv6 address formatting and reverse queries, which this script avoids.
  ngx.re = { sub = function() error("ngx.re.sub is not available") end }
end
local ok, resolver = pcall(require, "resty.dns.resolver")
if not ok then resolver = require "nginx.dns.resolver" end
local r, err = resolver:new{ nameservers = { {"127.0.0.1", T.dns_port} }, retrans = 2, timeout = 1000 }
show(type(r), err)
local function dump(answers, err)
  if not answers then return show("error", err) end
  if answers.errcode then return show("errcode", answers.errcode, answers.errstr) end
  local lines = {}
  for _, a in ipairs(answers) do lines[#lines + 1] = a.name .. " " .. a.type .. " " .. (a.address or a.cname or "") .. " ttl " .. tostring(a.ttl) end
  table.sort(lines)
  show(#answers, table.concat(lines, "; "))
end
dump(r:query("echo.test"))
dump(r:query("alias.test"))
dump(r:query("nx.test"))
dump(r:query("echo.test", { qtype = r.TYPE_AAAA }))
dump(r:tcp_query("echo.test"))
-- 40 addresses do not fit in 512 bytes: the UDP answer is truncated and the library asks again over TCP
local answers, qerr = r:query("big.test")
show("big", answers and #answers, qerr, answers and answers.errcode)
