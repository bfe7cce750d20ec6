import CLuaJIT

#if canImport(Glibc)
import Glibc
#endif

/// Loads Debian's lua-resty-core into every VM at start, as lua-nginx-module 0.10.16+ does
/// (`package.loaded["resty.core"]` is set before any user code), over the C functions of
/// Sources/CosocketLua/FFI. Where it is not on the package path, or the executable does not
/// export those functions to `ffi.C`, the native API stays alone.
///
/// resty.core replaces much of `ngx.*` with Lua over the FFI. What it replaces with a faster
/// or equal version stays its own: shared dicts (LuaJIT compiles FFI calls into its traces,
/// where a call of a C function ends them), time, hashes, URI and base64 codecs, the worker
/// facts, `ngx.req.get_headers`/`get_uri_args`/`get_method` and the request functions we have
/// no native version of (`set_header`, `start_time`, ...). What our scheduler or request objects serve more directly is put back right after
/// loading (``nativeKept``), the hot calls among them: `ngx.var` (one lookup instead of a
/// name copy, a lower-casing pass and a scratch copy of the value), `ngx.header`, `ngx.status`,
/// `ngx.ctx`, `ngx.exit`, `ngx.get_phase` and the coroutine functions (which our cosockets need for yielding across user
/// coroutines). `ngx.re.*` is resty.core's (over our regex doors), as in the reference. resty.core's socket module patches `registry.__tcp_cosocket_mt`, which our
/// sockets do not use: it patches a scratch table, and our `getoption`/`setoption` stay.
///
/// Modules loaded on demand through the C functions they declare (``unservedModules``): those
/// this binary cannot serve yet (`ngx.balancer`, `ngx.pipe`, `ngx.ocsp`) fail at `require`
/// with an error naming the C functions they lack, instead of at a later call; those whose
/// functions are all exported (`ngx.ssl*`) load from lua-resty-core.
enum RestyCore {
    /// Functions of the http subsystem each on-demand module indexes (scripts/ffi-inventory).
    static let unservedModules: [(module: String, functions: [String])] = [
        ("ngx.balancer", ["ngx_http_lua_ffi_balancer_set_current_peer", "ngx_http_lua_ffi_balancer_set_more_tries",
                          "ngx_http_lua_ffi_balancer_get_last_failure", "ngx_http_lua_ffi_balancer_set_timeouts",
                          "ngx_http_lua_ffi_balancer_recreate_request"]),
        ("ngx.pipe", ["ngx_http_lua_ffi_pipe_spawn", "ngx_http_lua_ffi_pipe_proc_read", "ngx_http_lua_ffi_pipe_get_read_result",
                      "ngx_http_lua_ffi_pipe_proc_write", "ngx_http_lua_ffi_pipe_get_write_result",
                      "ngx_http_lua_ffi_pipe_proc_shutdown_stdin", "ngx_http_lua_ffi_pipe_proc_shutdown_stdout",
                      "ngx_http_lua_ffi_pipe_proc_shutdown_stderr", "ngx_http_lua_ffi_pipe_proc_wait",
                      "ngx_http_lua_ffi_pipe_proc_kill", "ngx_http_lua_ffi_pipe_proc_destroy"]),
        ("ngx.ssl", ["ngx_http_lua_ffi_ssl_set_der_certificate", "ngx_http_lua_ffi_ssl_clear_certs",
                     "ngx_http_lua_ffi_ssl_set_der_private_key", "ngx_http_lua_ffi_ssl_raw_server_addr",
                     "ngx_http_lua_ffi_ssl_server_port", "ngx_http_lua_ffi_ssl_server_name",
                     "ngx_http_lua_ffi_ssl_raw_client_addr", "ngx_http_lua_ffi_cert_pem_to_der",
                     "ngx_http_lua_ffi_priv_key_pem_to_der", "ngx_http_lua_ffi_ssl_get_tls1_version",
                     "ngx_http_lua_ffi_parse_pem_cert", "ngx_http_lua_ffi_parse_pem_priv_key", "ngx_http_lua_ffi_set_cert",
                     "ngx_http_lua_ffi_set_priv_key", "ngx_http_lua_ffi_free_cert", "ngx_http_lua_ffi_free_priv_key",
                     "ngx_http_lua_ffi_ssl_verify_client"]),
        ("ngx.ssl.session", ["ngx_http_lua_ffi_ssl_set_serialized_session", "ngx_http_lua_ffi_ssl_get_serialized_session",
                             "ngx_http_lua_ffi_ssl_get_session_id", "ngx_http_lua_ffi_ssl_get_serialized_session_size",
                             "ngx_http_lua_ffi_ssl_get_session_id_size"]),
        ("ngx.ssl.clienthello", ["ngx_http_lua_ffi_ssl_get_client_hello_server_name",
                                 "ngx_http_lua_ffi_ssl_get_client_hello_ext", "ngx_http_lua_ffi_ssl_set_protocols"]),
        ("ngx.ocsp", ["ngx_http_lua_ffi_ssl_get_ocsp_responder_from_der_chain", "ngx_http_lua_ffi_ssl_create_ocsp_request",
                      "ngx_http_lua_ffi_ssl_validate_ocsp_response", "ngx_http_lua_ffi_ssl_set_ocsp_status_resp"]),
    ]

    /// The loader, run once per VM with the unserved modules' table. Returns nothing when
    /// resty.core is not on the path, else `true` or `false, reason`.
    private static let source = """
        local unserved, exported = ...
        local registry = debug.getregistry()
        local loaded, preload = package.loaded, package.preload

        for module, functions in pairs(unserved) do
          preload[module] = function(name)
            local missing = {}
            for _, fn in ipairs(functions) do
              if not exported(fn) then missing[#missing + 1] = fn end
            end
            if #missing > 0 then
              error("module '" .. name .. "' is not supported by cosocket: it needs C functions this binary does not export: "
                    .. table.concat(missing, ", "), 2)
            end
            local path = package.searchpath(name, package.path)
            if not path then error("module '" .. name .. "' not found on package.path", 2) end
            return assert(loadfile(path))(name)
          end
        end

        if not package.searchpath("resty.core", package.path) then return end
        -- An executable that embeds us without exporting its symbols (`--export-dynamic`)
        -- hides our C functions from ffi.C: the native API then stays alone.
        if not exported("ngx_http_lua_ffi_var_get") then return end

        -- What stays native (see RestyCore's documentation).
        local req, re = ngx.req, ngx.re
        local kept = {
          ngx_mt = getmetatable(ngx), var_mt = getmetatable(ngx.var), header = rawget(ngx, "header"),
          exit = ngx.exit, get_phase = ngx.get_phase,
          re = {}, coroutine = {}, getenv = os.getenv,
        }
        for k, v in pairs(re) do kept.re[k] = v end
        for k, v in pairs(coroutine) do kept.coroutine[k] = v end
        -- Stand-ins resty.core expects at load: the original coroutine functions under their
        -- `_` names (exit.lua and socket.lua keep `coroutine._yield`), an `ngx.arg` with a
        -- metatable (param.lua patches it; ours is set later), the cosocket method table.
        for _, key in ipairs({ "create", "yield", "resume", "status", "wrap" }) do
          coroutine["_" .. key] = coroutine["_" .. key] or coroutine[key]
          coroutine["__" .. key] = coroutine["__" .. key] or coroutine[key]
        end
        local had_arg = rawget(ngx, "arg") ~= nil
        if not had_arg then rawset(ngx, "arg", setmetatable({}, {})) end
        -- Our `ngx.arg` serves set_by_lua and the body filter: param.lua's patch of its
        -- metatable is undone after loading.
        local arg_mt = getmetatable(rawget(ngx, "arg"))
        local arg_index, arg_newindex = arg_mt.__index, arg_mt.__newindex
        local had_mt = registry.__tcp_cosocket_mt ~= nil
        if not had_mt then registry.__tcp_cosocket_mt = {} end

        local ok, err = pcall(require, "resty.core")

        if not had_mt then registry.__tcp_cosocket_mt = nil end
        if not had_arg then rawset(ngx, "arg", nil) end
        arg_mt.__index, arg_mt.__newindex = arg_index, arg_newindex
        setmetatable(ngx, kept.ngx_mt)
        setmetatable(ngx.var, kept.var_mt)
        rawset(ngx, "header", kept.header)
        ngx.exit, ngx.get_phase = kept.exit, kept.get_phase
        -- resty.core's ngx.re functions stay (LuaJIT compiles their FFI calls into the
        -- caller's trace: 300k "jo" matches cost 2.6k instructions each there, 3.3k through
        -- our C functions); the table stays ours, with our other keys.
        local core_re = rawget(ngx, "re")
        rawset(ngx, "re", re)
        for k, v in pairs(kept.re) do re[k] = v end
        if ok and type(core_re) == "table" and core_re ~= re then
          for _, key in ipairs({ "match", "find", "gmatch", "sub", "gsub" }) do
            if rawget(core_re, key) then re[key] = core_re[key] end
          end
        end
        for k, v in pairs(kept.coroutine) do coroutine[k] = v end
        package.loaded.coroutine = coroutine
        os.getenv = kept.getenv
        if not ok then return false, tostring(err) end
        -- lua-resty-core's own ngx.ssl replaces the native stand-in (parse_pem_* for
        -- setclientcert), which serves only where resty.core is not installed.
        if exported("ngx_http_lua_ffi_ssl_set_der_certificate") then loaded["ngx.ssl"] = nil end
        -- With resty.core's ngx.re functions, its ngx.re module too: `opt` asks the Lua-side
        -- pattern cache those functions fill, and `split` runs over the same compiled patterns.
        if rawget(re, "match") == rawget(core_re or {}, "match") then loaded["ngx.re"] = nil end
        -- `ngx.get_raw_phase(r)` is the one resty.core function that takes the request pointer
        -- from its caller: anything but this thread's request (compared as a pointer, which
        -- never raises) goes to C as NULL, so that no forged pointer reaches our doors.
        local raw_phase, get_request = ngx.get_raw_phase, require("resty.core.base").get_request
        if raw_phase then
          ngx.get_raw_phase = function(r, ...)
            if r ~= nil and r ~= get_request() then r = nil end
            return raw_phase(r, ...)
          end
        end
        return true
        """

    /// Loads resty.core into `worker`'s VM (see the type's documentation); throws nginx's
    /// words when it is installed but fails to load.
    static func load(_ worker: LuaWorker) throws {
        let L = worker.state
        let reference = try worker.load(Array(source.utf8), chunkName: "=resty.core loader")
        defer { luaL_unref(L, luaRegistryIndex, reference) }
        lua_rawgeti(L, luaRegistryIndex, reference)
        lua_createtable(L, 0, Int32(unservedModules.count))
        for (module, functions) in unservedModules {
            lua_createtable(L, Int32(functions.count), 0)
            for (index, function) in functions.enumerated() {
                luaPushString(L, function)
                lua_rawseti(L, -2, Int32(index + 1))
            }
            lua_setfield(L, -2, module)
        }
        // `exported(name)`: whether ffi.C would find the C function (its lookup is dlsym's in
        // the global scope; ffi.C itself cannot be asked before a cdef declares the name).
        lua_pushcclosure(L, { L in
            let L = L!
            guard let name = luaString(L, 1) else { return 0 }
            lua_pushboolean(L, dlsym(nil, name) != nil ? 1 : 0)
            return 1
        }, 0)
        let base = lua_gettop(L) - 3
        guard lua_pcall(L, 2, LUA_MULTRET, 0) == 0 else {
            let message = luaString(L, -1) ?? "unknown error"
            lua_settop(L, base)
            throw LuaLoadError(message: "failed to load the 'resty.core' module: \(message)")
        }
        defer { lua_settop(L, base) }
        guard lua_gettop(L) > base, lua_toboolean(L, base + 1) == 0 else { return }
        let reason = luaString(L, base + 2) ?? "unknown error"
        throw LuaLoadError(message: "failed to load the 'resty.core' module (https://github.com/openresty/lua-resty-core); ensure you are using an OpenResty release from https://openresty.org/en/download.html (reason: \(reason))")
    }
}
