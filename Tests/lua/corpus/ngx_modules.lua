-- small ngx.* pieces libraries call: ngx.worker, ngx.config, ngx.get_phase, ngx.timer.every and
-- counts, ngx.process, ngx.errlog, ngx.base64, table.new/clear/isempty/nkeys
local function show(...) local t = {} for i = 1, select("#", ...) do local v = select(i, ...) t[i] = v == "" and '""' or tostring(v) end ngx.say(table.concat(t, " ")) end
show("worker", ngx.worker.id(), ngx.worker.count(), type(ngx.worker.pid()), ngx.worker.exiting(), type(ngx.worker.pids()), #ngx.worker.pids(), ngx.worker.pids()[1] == ngx.worker.pid())
show("config", ngx.config.subsystem, type(ngx.config.prefix()), ngx.config.nginx_version, ngx.config.ngx_lua_version, ngx.config.debug)
show("phase", ngx.get_phase())
show("timers", type(ngx.timer.every), ngx.timer.running_count(), ngx.timer.pending_count())
local n = 0
local ok = ngx.timer.every(0.01, function(premature) n = n + 1 end)
show("every", ok, ngx.timer.pending_count()) ngx.sleep(0.055) show(n >= 3, n <= 6, ngx.timer.pending_count())
show(pcall(ngx.timer.every, 0, function() end)) show(pcall(ngx.timer.every, 0.0001, function() end)) show(pcall(ngx.timer.every, 1)) show(pcall(ngx.timer.every))
show(pcall(ngx.timer.at, "x", print)) show(pcall(ngx.timer.at, 1, "f"))
local fired = 0 ngx.timer.at(-1, function() fired = fired + 1 end) ngx.sleep(0.01) show("at -1 fired", fired)
local seen = {}
ngx.timer.at(0, function(premature, a, b) seen = { ngx.get_phase(), ngx.timer.running_count(), premature, a, b } end, "x", 2)
ngx.sleep(0.01) show("in timer", unpack(seen))
local process = require "ngx.process"
show("process", process.type(), process.get_master_pid() == ngx.worker.pid(), process.enable_privileged_agent())
local errlog = require "ngx.errlog"
show("errlog", type(errlog.raw_log), type(errlog.get_sys_filter_level()), errlog.raw_log(ngx.ERR, "raw message"))
show(pcall(errlog.raw_log, "x", "m")) show(pcall(errlog.raw_log, ngx.ERR, 1)) show(pcall(errlog.raw_log, 99, "m")) show(pcall(errlog.raw_log, -1, "m")) show(pcall(errlog.raw_log)) show(pcall(errlog.raw_log, 4.7, "m"))
local b64 = require "ngx.base64"
show("b64", b64.encode_base64url("\255\254\253hello?"), b64.encode_base64url(""), b64.encode_base64url("a"), b64.encode_base64url("ab"), b64.encode_base64url("abc"))
show(b64.decode_base64url("__79aGVsbG8_")) show(b64.decode_base64url("YQ")) show(b64.decode_base64url("YWI")) show(b64.decode_base64url("YWJj")) show(b64.decode_base64url(""))
show(b64.decode_base64url("a")) show(b64.decode_base64url("@@")) show(b64.decode_base64url("+/+/")) show(b64.decode_base64url("YQ==")) show(b64.decode_base64url("YQ=x")) show(b64.decode_base64url("Y Q"))
show(b64.encode_base64url(1)) show(b64.encode_base64url(nil)) show(b64.decode_base64url({})) show(b64.decode_base64url(12))
show("table", type(table.new), type(table.clear), type(require("table.isempty")), require("table.nkeys")({1, 2, a = 3}), require("table.isempty")({}), require("table.isempty")({1}))
local t = table.new(4, 4) show(type(t), #t) t = {1, 2, a = 3} table.clear(t) show(next(t))
