-- The module WorkerThreadTests' ngx.run_worker_thread calls run in the pool's VM.
local _M = {}
function _M.add(a, b) return a + b end
function _M.multi(...) return ... end
function _M.tab(t) return {n = #t, first = t[1], nested = {x = t.k and t.k.y}} end
function _M.fail() error("boom") end
function _M.sleepy(ms) local t = os.clock() + ms / 1000 while os.clock() < t do end return "slept" end
function _M.apis() return ngx.encode_base64("hi"), ngx.md5("x"), ngx.crc32_long("x"), ngx.encode_args({a = 1}), ngx.quote_sql_str("a'b"), type(ngx.say), type(ngx.socket), type(ngx.log), type(ngx.sleep), type(ngx.var), ngx.null, ngx.config.subsystem, ngx.config.nginx_version, type(ngx.config.prefix()) end
function _M.retfn() return function() end end
function _M.nothing() end
_M.notfn = 1
return _M
