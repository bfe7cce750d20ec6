-- ngx.md5, ngx.md5_bin, ngx.sha1_bin, ngx.crc32_short
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
show("md5 empty", ngx.md5(""))
show("md5 abc", ngx.md5("abc"))
show("md5 number", ngx.md5(42))
show("md5 nil", pcall(ngx.md5, nil))
show("md5_bin abc", hex(ngx.md5_bin("abc")), #ngx.md5_bin("abc"))
show("sha1_bin abc", hex(ngx.sha1_bin("abc")), #ngx.sha1_bin("abc"))
show("sha1_bin empty", hex(ngx.sha1_bin("")))
show("crc32_short", ngx.crc32_short("hello"))
show("crc32_long", ngx.crc32_long("hello"))
