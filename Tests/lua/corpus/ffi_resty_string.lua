-- lua-resty-string (Debian: lua-nginx-string, `nginx.*`) over ffi.C: ngx_hex_dump and ngx_atoi exported by the binary, libcrypto digests, AES and RAND_bytes; the vectors are also checked against Python hashlib and openssl enc in FFIReachTests
local str = require "nginx.string"
local md5 = require "nginx.md5"
local sha1 = require "nginx.sha1"
local sha256 = require "nginx.sha256"
local sha512 = require "nginx.sha512"
local sha224 = require "nginx.sha224"
local sha384 = require "nginx.sha384"
local aes = require "nginx.aes"
local random = require "nginx.random"
ngx.say(str.to_hex("\0\1\127\128\255abc"), " ", str.to_hex(""))
ngx.say(str.atoi("12345"), " ", str.atoi("12a"), " ", str.atoi(""), " ", str.atoi("9223372036854775807"), " ", str.atoi("9223372036854775808"))
local function digest(mod, ...)
  local h = mod:new()
  for i = 1, select("#", ...) do h:update((select(i, ...))) end
  return str.to_hex(h:final())
end
ngx.say(digest(md5, "The quick brown fox ", "jumps over the lazy dog"))
ngx.say(digest(sha1, "abc"))
ngx.say(digest(sha224, "abc"))
ngx.say(digest(sha256, "abc"))
ngx.say(digest(sha384, "abc"))
ngx.say(digest(sha512, "abc"))
ngx.say(digest(sha256, string.rep("a", 1000000)))
local a = aes:new("secret key", "salt1234", aes.cipher(256, "cbc"), aes.hash.sha256, 5)
local enc = a:encrypt("attack at dawn")
ngx.say(#enc, " ", str.to_hex(enc), " ", a:decrypt(enc))
local b = assert(aes:new("0123456789abcdef", nil, aes.cipher(128, "cbc"), { iv = "1234567890123456" }))
local e2 = b:encrypt("hello, aes")
ngx.say(str.to_hex(e2), " ", b:decrypt(e2))
local r = random.bytes(16)
ngx.say(#r, " ", #random.bytes(32, true), " ", r ~= random.bytes(16))
ngx.say(ngx.md5("x"), " ", str.to_hex(ngx.sha1_bin("x")), " ", str.to_hex(ngx.hmac_sha1("key", "The quick brown fox jumps over the lazy dog")), " ", str.to_hex(ngx.md5_bin("")))
