-- ngx.http_time, ngx.cookie_time, ngx.parse_http_time: the edges (1970, 2038, far years,
-- fractions, negative times) and strings nginx's parser takes or refuses
local function show(...) local t = {} for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end ngx.say(table.concat(t, " ")) end
for _, t in ipairs({0, 1, 59.9, 86399, 951782400, 1290079655, 2147483647, 2147483648, 2208988800, 4102444800, 253402300799, -1, -86400}) do
  show(t, ngx.http_time(t), ngx.cookie_time(t))
end
for _, s in ipairs({
  "Thu, 18 Nov 2010 11:27:35 GMT", "Thu, 18 Nov 2010 11:27:35", "Thursday, 18-Nov-10 11:27:35 GMT",
  "Thu Nov 18 11:27:35 2010", "Thu Nov  8 11:27:35 2010", "Thu, 01 Jan 1970 00:00:00 GMT",
  "Sun, 29 Feb 2004 00:00:00 GMT", "Sun, 29 Feb 2003 00:00:00 GMT", "Mon, 31 Apr 2010 00:00:00 GMT",
  "Mon, 00 Jan 2010 00:00:00 GMT", "Thu, 18 Nov 2010 24:00:00 GMT", "Thu, 18 Nov 2010 23:60:00 GMT",
  "Thu, 18 Xyz 2010 11:27:35 GMT", "Thu, 18 Jun 2010 11:27:35 GMT", "Thu, 18 Jul 2010 11:27:35 GMT",
  "Thu, 18 Mar 2010 11:27:35 GMT", "Thu, 18 May 2010 11:27:35 GMT", "Thu, 18 Apr 2010 11:27:35 GMT",
  "Thu, 18 Aug 2010 11:27:35 GMT", "Thu, 18 Sep 2010 11:27:35 GMT", "Thu, 18 Oct 2010 11:27:35 GMT",
  "Thu, 18 Dec 2010 11:27:35 GMT", "Thu, 18 Feb 2010 11:27:35 GMT", "Wed, 01 Jan 1969 00:00:00 GMT",
  "Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 01 Jan 2039 00:00:00 GMT", "Thursday, 18-Nov-69 11:27:35 GMT",
  "Thursday, 18-Nov-70 11:27:35 GMT", "", "garbage", "Thu, 18 Nov 2010", "Thu,18 Nov 2010 11:27:35 GMT",
  "Thu,   18 Nov 2010 11:27:35 GMT", "18 Nov 2010 11:27:35 GMT xx", "Thu, 1a Nov 2010 11:27:35 GMT",
  "Thu, 18-Nov 2010 11:27:35 GMT", "Thu Nov 18 11:27:35 10", "Thu, 18 Nov 2010 11:27:35 GMT trailing",
}) do
  show(string.format("%q", s), ngx.parse_http_time(s))
end
show(pcall(ngx.http_time)) show(pcall(ngx.http_time, "12")) show(pcall(ngx.http_time, nil))
show(pcall(ngx.cookie_time, {})) show(pcall(ngx.cookie_time, "0"))
show(pcall(ngx.parse_http_time)) show(pcall(ngx.parse_http_time, 12)) show(pcall(ngx.parse_http_time, nil))
show(pcall(ngx.http_time, 0/0)) show(pcall(ngx.http_time, math.huge)) show(pcall(ngx.http_time, 1e300))
