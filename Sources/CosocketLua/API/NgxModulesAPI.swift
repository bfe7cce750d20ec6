import CLuaJIT

#if canImport(Glibc)
import Glibc
#endif

/// The small lua-resty-core modules libraries require: `ngx.process` (`type`), `ngx.errlog`
/// (`raw_log`, `get_sys_filter_level`) and `ngx.base64` (`encode_base64url`,
/// `decode_base64url`), served natively and put in `package.loaded`, so `require` does not
/// reach Debian's FFI versions of them.
enum NgxModulesAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_getfield(L, luaGlobalsIndex, "package")
        lua_getfield(L, -1, "loaded")
        module(L, "ngx.process", worker, [
            ("type", { L in
                let L = L!
                let worker = LuaWorker.from(L)
                let type = !worker.configuration.masterProcess ? "single"
                    : worker.current?.context.phaseName == "init" ? "master" : "worker"
                luaPushString(L, type)
                return 1
            }),
            // No master process: this process is the master as well.
            ("get_master_pid", { L in lua_pushinteger(L, lua_Integer(getpid())); return 1 }),
            ("enable_privileged_agent", { L in
                let L = L!
                let inInit = LuaWorker.from(L).current?.context.phaseName == "init"
                return luaFinish(L, L.softFailure(inInit ? "privileged agent process is not supported" : "API disabled in the current context"))
            }),
        ])
        module(L, "ngx.errlog", worker, [
            ("raw_log", { L in luaFinish(L!, NgxModulesAPI.rawLog(L!)) }),
            ("get_sys_filter_level", { L in
                lua_pushinteger(L, lua_Integer(LuaWorker.from(L!).configuration.logLevel.rawValue))
                return 1
            }),
        ])
        module(L, "ngx.base64", worker, [
            ("encode_base64url", { L in
                let L = L!
                guard lua_type(L, 1) == LUA_TSTRING, let bytes = luaBytes(L, 1) else { return luaFinish(L, L.softFailure("must provide a string")) }
                NgxCodec.encodeBase64URL(bytes).withUnsafeBytes { luaPushBytes(L, $0) }
                return 1
            }),
            ("decode_base64url", { L in
                let L = L!
                guard lua_type(L, 1) == LUA_TSTRING, let bytes = luaBytes(L, 1) else { return luaFinish(L, L.softFailure("must provide a string")) }
                guard let decoded = NgxCodec.decodeBase64URL(bytes) else { return luaFinish(L, L.softFailure("invalid input")) }
                decoded.withUnsafeBytes { luaPushBytes(L, $0) }
                return 1
            }),
        ])
        luaPop(L, 2)
        // lua-resty-core requires these at start, which adds `table.new` and `table.clear`.
        for name in ["table.new", "table.clear"] {
            lua_getfield(L, luaGlobalsIndex, "require")
            luaPushString(L, name)
            if lua_pcall(L, 1, 0, 0) != 0 { luaPop(L, 1) }
        }
    }

    /// Sets `package.loaded[name]` (the table on top of the stack) to a module of `functions`.
    private static func module(_ L: LuaState, _ name: String, _ worker: UnsafeMutableRawPointer, _ functions: [(String, lua_CFunction)]) {
        lua_createtable(L, 0, Int32(functions.count + 1))
        luaPushString(L, "0.1.25")
        lua_setfield(L, -2, "version")
        for (field, function) in functions { luaSetField(L, -1, field, function, upvalue: worker) }
        lua_setfield(L, -2, name)
    }

    /// `raw_log(level, msg)`: `msg` as is (no `[lua] file:line:` prefix) at `level`.
    static func rawLog(_ L: LuaState) -> LuaReturn {
        guard lua_type(L, 1) == LUA_TNUMBER else { return L.fail("bad argument #1 to 'raw_log' (must be a number)") }
        guard lua_type(L, 2) == LUA_TSTRING, let message = luaString(L, 2) else {
            return L.fail("bad argument #2 to 'raw_log' (must be a string)")
        }
        guard let level = LuaLogLevel(rawValue: Int(LuaNumber.truncated32(lua_tonumber(L, 1)))) else { return L.fail("bad log level") }
        let worker = LuaWorker.from(L)
        if level <= worker.configuration.logLevel { worker.log(level, message) }
        return .values(0)
    }
}
