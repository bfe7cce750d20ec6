import CLuaJIT

extension LuaWorker {
    /// Replaces `coroutine.resume`, `coroutine.wrap` and `ngx.socket.connect`-style helpers
    /// with versions that let a cosocket wait inside a user coroutine.
    ///
    /// A cosocket that must wait yields its coroutine with a sentinel. When that coroutine is a
    /// user coroutine, the wrapped `resume` sees the sentinel and yields its own coroutine with
    /// it, up to the scheduler's coroutine; the operation's results, passed back down through
    /// each `resume`, become the cosocket call's return values. User code sees nothing.
    func installCoroutineWrappers() throws {
        let source = """
            local sentinel, tcp = ...
            local raw_resume, raw_yield, raw_create, raw_status = coroutine.resume, coroutine.yield, coroutine.create, coroutine.status
            local error = error
            local function pass(co, ok, first, ...)
              if ok and first == sentinel and raw_status(co) == "suspended" then
                return pass(co, raw_resume(co, raw_yield(sentinel)))
              end
              return ok, first, ...
            end
            local function resume(co, ...)
              return pass(co, raw_resume(co, ...))
            end
            coroutine.resume = resume
            local function unwrap(ok, ...)
              if not ok then error((...), 0) end
              return ...
            end
            coroutine.wrap = function(f)
              local co = raw_create(f)
              return function(...) return unwrap(pass(co, raw_resume(co, ...))) end
            end
            """
        let reference = try load(Array(source.utf8), chunkName: "=coroutine")
        lua_rawgeti(state, luaRegistryIndex, reference)
        lua_pushlightuserdata(state, luaSchedulerYieldSentinel)
        lua_getfield(state, luaGlobalsIndex, "ngx")
        lua_getfield(state, -1, "socket")
        lua_remove(state, -2)
        lua_getfield(state, -1, "tcp")
        lua_remove(state, -2)
        guard lua_pcall(state, 2, 0, 0) == 0 else {
            let message = luaString(state, -1) ?? "?"
            luaPop(state, 1)
            throw LuaLoadError(message: message)
        }
        luaL_unref(state, luaRegistryIndex, reference)

        // ngx.socket.connect is Lua in the reference too (its errors name this chunk, line 1).
        let connect = try load(
            Array("local tcp = ... return function(...) local sock = tcp() local ok, err = sock:connect(...) if ok then return sock end return nil, err end".utf8),
            chunkName: "=ngx.socket.connect"
        )
        lua_rawgeti(state, luaRegistryIndex, connect)
        lua_getfield(state, luaGlobalsIndex, "ngx")
        lua_getfield(state, -1, "socket")
        lua_getfield(state, -1, "tcp")
        lua_remove(state, -2)
        lua_remove(state, -2)
        guard lua_pcall(state, 1, 1, 0) == 0 else {
            let message = luaString(state, -1) ?? "?"
            luaPop(state, 1)
            throw LuaLoadError(message: message)
        }
        lua_getfield(state, luaGlobalsIndex, "ngx")
        lua_getfield(state, -1, "socket")
        lua_pushvalue(state, -3)
        lua_setfield(state, -2, "connect")
        luaPop(state, 3)
        luaL_unref(state, luaRegistryIndex, connect)
        installPoolModule()
    }
}
