-- lua-resty-core's ngx.re (Debian's resty/core/regex.lua and ngx/re.lua) instead of ours, over
-- the ngx_http_lua_ffi_* functions the cosocket binary exports (Sources/CosocketLua/FFI).
-- Its time and phase modules are stood in for: ngx.now and ngx.get_phase are ours already.
package.loaded["resty.core.time"] = package.loaded["resty.core.time"] or true
package.loaded["resty.core.phase"] = package.loaded["resty.core.phase"] or true
require "resty.core.regex"
package.loaded["ngx.re"] = nil
