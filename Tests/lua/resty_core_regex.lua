-- lua-resty-core's ngx.re (Debian's resty/core/regex.lua and ngx/re.lua) instead of ours, over
-- the ngx_http_lua_ffi_* functions the cosocket binary exports (Sources/CosocketLua/FFI).
-- resty.core is loaded at VM start, with our ngx.re put back (RestyCore.swift): run its
-- regex module again so that its functions replace ours, and let `require "ngx.re"` load
-- Debian's file instead of our native module.
package.loaded["resty.core.regex"] = nil
require "resty.core.regex"
package.loaded["ngx.re"] = nil
