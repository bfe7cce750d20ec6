-- ngx.encode_base64 / ngx.decode_base64
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
for _, s in ipairs({"", "f", "fo", "foo", "foob", "hello world"}) do
  show(string.format("%q", s), ngx.encode_base64(s))
end
show("bytes 0 1 2 255", ngx.encode_base64("\0\1\2\255"))
show("decode to bytes", ngx.decode_base64("AAEC/w=="):byte(1, -1))
show("no padding", ngx.encode_base64("f", true))
show("number", ngx.encode_base64(123))
show("nil", pcall(ngx.encode_base64, nil))
show("table", (pcall(ngx.encode_base64, {})))
show("decode", ngx.decode_base64("aGVsbG8gd29ybGQ="))
show("decode unpadded", ngx.decode_base64("Zg"))
show("decode invalid", ngx.decode_base64("!!!"))
show("decode bad length", ngx.decode_base64("Zm9vY"))
show("decode empty", string.format("%q", ngx.decode_base64("")))
show("decode nil", pcall(ngx.decode_base64, nil))
show("decode number", pcall(ngx.decode_base64, 12))
