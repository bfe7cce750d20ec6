-- ngx.req.set_header/clear_header/set_method/set_uri/set_uri_args/start_time and
-- ngx.resp.get_headers in a content handler; the expected output is the reference's (ref-run).
local OUT = {}
local function say(...) local t = {} for i = 1, select('#', ...) do t[i] = tostring((select(i, ...))) end OUT[#OUT+1] = table.concat(t) end
local function dump()
  local h = ngx.req.get_headers(100, true)
  local keys = {}
  for k, v in pairs(h) do local l = k:lower() if l ~= "host" and l ~= "user-agent" and l ~= "accept" and l ~= "connection" then keys[#keys+1] = k end end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do local v = h[k] out[#out+1] = k .. "=" .. (type(v) == "table" and table.concat(v, "|") or v) end
  say(table.concat(out, "; "))
end
dump()
ngx.req.set_header("X-Foo", "bar") dump()
ngx.req.set_header("x-foo", "baz") dump()
ngx.req.set_header("X-Multi", {"a", "b"}) dump()
ngx.req.set_header("X-Multi", "c") dump()
ngx.req.set_header("X-Multi", {}) dump()
ngx.req.set_header("user_agent", "ua") dump()
ngx.req.set_header("X-Num", 12) dump()
say(ngx.var.http_x_foo, " ", ngx.var.http_x_num, " ", tostring(ngx.var.http_x_multi))
ngx.req.clear_header("X-Foo") dump()
ngx.req.set_header("X-Foo", nil) dump()
ngx.req.set_header("Host", "example.org") say(ngx.var.host, " ", ngx.var.http_host)
say(pcall(ngx.req.set_header, "X-Bad", "a\r\nb")) dump()
say(pcall(ngx.req.set_header, "X-Bad\r\n", "v")) dump()
say(pcall(ngx.req.set_header, "X-Nul", "a\0b")) 
say(pcall(ngx.req.set_header)) say(pcall(ngx.req.set_header, "X")) say(pcall(ngx.req.set_header, nil, "v"))
say(pcall(ngx.req.set_header, 12, "v")) dump()
say(pcall(ngx.req.set_header, "X-T", true))
say(pcall(ngx.req.set_header, "X-T", {1, 2}))  dump()
say(pcall(ngx.req.set_header, "", "v"))
say(pcall(ngx.req.clear_header)) say(pcall(ngx.req.clear_header, 1))
say(#ngx.req.raw_header() > 0)
ngx.req.set_header("Content-Length", "5") say(ngx.var.content_length, " ", ngx.var.http_content_length)
ngx.req.set_header("Cookie", "a=1") say(ngx.var.cookie_a, " ", ngx.var.http_cookie)
ngx.req.set_header("X-Long", string.rep("v", 1024 * 1024)) say(#ngx.var.http_x_long)
say(ngx.var.uri, " ", ngx.var.request_uri, " ", tostring(ngx.var.args))
ngx.req.set_uri("/foo/bar") say(ngx.var.uri, " ", ngx.var.request_uri, " ", ngx.var.document_uri)
ngx.req.set_uri("/a b?c") say(ngx.var.uri)
say(pcall(ngx.req.set_uri, "")) say(pcall(ngx.req.set_uri)) say(pcall(ngx.req.set_uri, 12)) say(ngx.var.uri)
say(pcall(ngx.req.set_uri, "/x\0y")) say(pcall(ngx.req.set_uri, "/x\ny")) say(pcall(ngx.req.set_uri, "/x\ty")) say(pcall(ngx.req.set_uri, "/x\127y"))
say(pcall(ngx.req.set_uri, "/x\0y", false, true)) say(#ngx.var.uri)
say(pcall(ngx.req.set_uri, "rel")) say(ngx.var.uri)
say(pcall(ngx.req.set_uri, "/j", true))
say(pcall(ngx.req.set_uri, "/j", "yes"))
say(pcall(ngx.req.set_uri_args, "a=1&b=2")) say(ngx.var.args, " ", ngx.var.arg_a, " ", ngx.var.request_uri)
say(pcall(ngx.req.set_uri_args, {d = {"x", "y"}, f = false})) say(ngx.var.args)
say(pcall(ngx.req.set_uri_args, {e = true})) say(ngx.var.args)
say(pcall(ngx.req.set_uri_args, {["a b"] = "c&d"})) say(ngx.var.args)
say(pcall(ngx.req.set_uri_args, 12)) say(ngx.var.args)
say(pcall(ngx.req.set_uri_args)) say(pcall(ngx.req.set_uri_args, "")) say(tostring(ngx.var.args), ngx.var.is_args, "|")
say(pcall(ngx.req.set_uri_args, true))
say(type(ngx.req.is_internal()), " ", type(ngx.req.start_time()), " ", ngx.req.start_time() <= ngx.now(), " ", ngx.now() - ngx.req.start_time() < 5)
say(pcall(ngx.req.set_method, ngx.HTTP_POST)) say(ngx.req.get_method(), " ", ngx.var.request_method)
say(pcall(ngx.req.set_method, 3)) say(pcall(ngx.req.set_method, "GET")) say(pcall(ngx.req.set_method, ngx.HTTP_PATCH)) say(ngx.req.get_method())
for _, m in ipairs({"HTTP_GET","HTTP_HEAD","HTTP_PUT","HTTP_DELETE","HTTP_MKCOL","HTTP_COPY","HTTP_MOVE","HTTP_OPTIONS","HTTP_PROPFIND","HTTP_PROPPATCH","HTTP_LOCK","HTTP_UNLOCK","HTTP_TRACE"}) do
  ngx.req.set_method(ngx[m]) OUT[#OUT+1]=ngx.req.get_method()
end
say()
ngx.req.set_method(ngx.HTTP_GET)
local h = ngx.resp.get_headers() say(type(h), " ", tostring(h["content-type"]))
ngx.header["X-A"] = "1" ngx.header["X-B"] = {"2", "3"} ngx.header.content_type = "text/x"
h = ngx.resp.get_headers() say(h["x-a"], " ", table.concat(h.x_b, ","), " ", h["Content-Type"], " ", tostring(h["content-length"]))
h = ngx.resp.get_headers(1) local n = 0 for k in pairs(h) do n = n + 1 end say(n)
h = ngx.resp.get_headers(100, true) local rk = {} for k, v in pairs(h) do if k == "connection" then v = "present" end rk[#rk+1] = k .. "=" .. (type(v) == "table" and table.concat(v, ",") or v) end table.sort(rk) say(table.concat(rk, " "))
say(pcall(ngx.resp.get_headers, "x"))
local ok, err = pcall(function() return ngx.arg[1] end) say(type(ngx.arg), " ", ok, " ", (tostring(err):gsub("^.*: ", "")))


ngx.say(table.concat(OUT, '\n'))
