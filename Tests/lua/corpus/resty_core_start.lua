-- lua-resty-core is loaded at VM start (package.loaded["resty.core"] before user code), and the
-- ngx.* functions it implements over our C functions answer as the reference's
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
show(type(package.loaded["resty.core"]), package.loaded["resty.core"].version, require("resty.core.base").version)
for _, name in ipairs({ "md5", "md5_bin", "sha1_bin", "crc32_short", "crc32_long", "escape_uri", "unescape_uri",
                        "encode_base64", "decode_base64", "now", "time", "today", "localtime", "utctime", "update_time",
                        "http_time", "cookie_time", "parse_http_time" }) do
  show(name, debug.getinfo(ngx[name], "S").source)
end
for _, name in ipairs({ "id", "count", "pid", "pids", "exiting" }) do show("worker." .. name, debug.getinfo(ngx.worker[name], "S").source) end
show(ngx.http_time(0), ngx.http_time(1290079655), ngx.http_time(-1), ngx.http_time(1e300), ngx.http_time(-1e300), ngx.http_time(253402300800))
show(ngx.cookie_time(0), ngx.cookie_time(1290079655), ngx.cookie_time(2^31 * 1.1), ngx.cookie_time(-5), ngx.cookie_time(2^62), ngx.cookie_time(253402300799))
show(ngx.parse_http_time("Thu, 18 Nov 2010 11:27:35 GMT"), ngx.parse_http_time("Thursday, 18-Nov-10 11:27:35 GMT"),
     ngx.parse_http_time("Thu Nov 18 11:27:35 2010"), ngx.parse_http_time("Sun, 06 Nov 1994 08:49:37 GMT"),
     ngx.parse_http_time("Mon, 29 Feb 2016 23:59:59 GMT"), ngx.parse_http_time("junk"), ngx.parse_http_time(""),
     ngx.parse_http_time(string.rep("x", 100000)), ngx.parse_http_time("Fri, 31 Dec 9999 23:59:59 GMT"), ngx.parse_http_time("Thu, 31 Feb 2010 11:27:35 GMT"),
     ngx.parse_http_time("Thu, 18 Nov 1969 11:27:35 GMT"), ngx.parse_http_time("Thu, 18 Nov 2010 24:00:00 GMT"), ngx.parse_http_time("thu, 18 nov 2010 11:27:35 gmt"))
show(pcall(ngx.http_time, "x"))
show(type(ngx.now()), type(ngx.time()), math.abs(ngx.now() - os.time()) < 2, ngx.time() == math.floor(ngx.now()) or ngx.time() == math.floor(ngx.now()) - 1)
show(#ngx.today(), ngx.today():match("^%d%d%d%d%-%d%d%-%d%d$") ~= nil, #ngx.localtime(), #ngx.utctime(), ngx.utctime():match("^%d+%-%d+%-%d+ %d+:%d+:%d+$") ~= nil)
show(ngx.update_time())
show(ngx.md5(""), ngx.md5("abc"), ngx.md5(nil), ngx.md5(12), #ngx.md5_bin("x"), #ngx.sha1_bin("x"))
show(ngx.crc32_short("hello"), ngx.crc32_long("hello"), ngx.crc32_short(""), ngx.crc32_long(string.rep("x", 100)))
show(ngx.escape_uri("a b/c?d=é&"), ngx.escape_uri("a b/c", 0), ngx.escape_uri("a b/c", 1), pcall(ngx.escape_uri, "x", 7))
show(ngx.unescape_uri("a%20b%2Fc+%zz%4"), ngx.unescape_uri(""), ngx.unescape_uri(42))
show(ngx.encode_base64("hello"), ngx.encode_base64("hello", true), ngx.encode_base64(""), ngx.decode_base64("aGVsbG8="), ngx.decode_base64("a"), ngx.decode_base64("!!!!"))
show((pcall(ngx.encode_base64, {})), ngx.encode_base64(true), ngx.encode_base64(12))
show(ngx.worker.id(), ngx.worker.count(), ngx.worker.pid() > 0, #ngx.worker.pids(), ngx.worker.exiting())
show(require("ngx.process").type(), ngx.get_phase(), ngx.config.subsystem, ngx.config.ngx_lua_version)
show(type(require("ngx.resp").add_header), type(require("ngx.req").add_header), type(ngx.req.set_header), type(ngx.req.start_time))
local b64 = require "ngx.base64"
show(b64.encode_base64url("\255\254\253"), b64.decode_base64url("__79"), b64.decode_base64url("*"))
for _, s in ipairs({ "Sun, 06 Nov 0000 08:49:37 GMT", "Sun, 29 Feb 2015 08:49:37 GMT", "Sun, 29 Feb 2000 08:49:37 GMT",
                     "Sun, 29 Feb 1900 08:49:37 GMT", "Sunday, 06-Nov-69 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                     "Sun,  6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 8:49:37 GMT",
                     "x, 06 Nov 1994 08:49:37 GMT", "Sun, 00 Jxx 1994 08:49:37", "Sun Nov 6 08:49:37 1994 trailing",
                     "Sun, 06 Nov 1994 08:49:3", ",", " ", "Sun, 31 Apr 1994 08:49:37 GMT" }) do
  show(s, ngx.parse_http_time(s))
end
