-- ngx.escape_uri / ngx.unescape_uri
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
local samples = {"abc", "a b", "a+b", "a/b?c=d&e", "~-_.!*'()", "中", "%", "\0\n"}
for _, s in ipairs(samples) do
  show(string.format("%q", s), ngx.escape_uri(s))
end
show("escape number", ngx.escape_uri(12))
show("escape nil", pcall(ngx.escape_uri, nil))
show("unescape", ngx.unescape_uri("a%20b%2Fc+d"))
show("unescape bad", ngx.unescape_uri("%zz%4"))
show("unescape lower", ngx.unescape_uri("%e4%b8%ad"))
show("unescape nil", pcall(ngx.unescape_uri, nil))
show("encode_args", ngx.encode_args({ a = "b c" }))
