import CLuaJIT

/// lua-nginx-module's guard on `_G` (OpenResty LuaJIT builds, Debian's included): a Lua chunk
/// that creates a global outside the init phases gets a warning, since every request of the
/// worker shares it. The value is still set; writes to globals that exist go unnoticed (the
/// metamethod runs for new keys only), so the guard costs nothing on the hot path.
enum GlobalWriteGuard {
    private static let source = """
        local log, WARN, get_phase = ngx.log, ngx.WARN, ngx.get_phase
        local rawset, tostring, traceback = rawset, tostring, debug.traceback
        local function guard(globals, name, value)
            rawset(globals, name, value)
            local phase = get_phase()
            if phase == "init" or phase == "init_worker" then return end
            log(WARN, "writing a global Lua variable ('", tostring(name), "') which may lead to race "
                .. "conditions between concurrent requests, so prefer the use of 'local' variables",
                traceback("", 2))
        end
        setmetatable(_G, { __newindex = guard })
        """

    /// Sets the guard's metatable on `_G`: last, once the VM's own globals are in place.
    static func install(_ worker: LuaWorker) throws {
        let L = worker.state
        let reference = try worker.load(Array(source.utf8), chunkName: "=_G write guard")
        defer { luaL_unref(L, luaRegistryIndex, reference) }
        lua_rawgeti(L, luaRegistryIndex, reference)
        guard lua_pcall(L, 0, 0, 0) == 0 else {
            let message = luaString(L, -1) ?? "?"
            luaPop(L, 1)
            throw LuaLoadError(message: "failed to run the _G write guard: \(message)")
        }
    }
}
