import CLuaJIT

extension LuaWorker {
    /// Replaces `coroutine.resume`, `coroutine.wrap`, `coroutine.status` and
    /// `ngx.socket.connect`-style helpers with versions that let a cosocket wait inside a user
    /// coroutine.
    ///
    /// A cosocket that must wait yields its coroutine with a sentinel. When that coroutine is a
    /// user coroutine, the wrapped `resume` sees the sentinel and yields its own coroutine with
    /// it, up to the scheduler's coroutine; the operation's results, passed back down through
    /// each `resume`, become the cosocket call's return values. User code sees nothing: as in
    /// the reference, `coroutine.status` reports a coroutine that waits for the event loop,
    /// and any live scheduler coroutine, as "running".
    func installCoroutineWrappers() throws {
        let source = """
            local sentinel, tcp = ...
            local raw_resume, raw_yield, raw_create, raw_status = coroutine.resume, coroutine.yield, coroutine.create, coroutine.status
            local error = error
            local waiting = setmetatable({}, { __mode = "k" })
            local pass
            local function resumed(co, ...)
              waiting[co] = nil
              return pass(co, ...)
            end
            pass = function(co, ok, first, ...)
              if ok and first == sentinel and raw_status(co) == "suspended" then
                waiting[co] = true
                return resumed(co, raw_resume(co, raw_yield(sentinel)))
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
            return waiting
            """
        let reference = try load(Array(source.utf8), chunkName: "=coroutine")
        lua_rawgeti(state, luaRegistryIndex, reference)
        lua_pushlightuserdata(state, luaSchedulerYieldSentinel)
        lua_getfield(state, luaGlobalsIndex, "ngx")
        lua_getfield(state, -1, "socket")
        lua_remove(state, -2)
        lua_getfield(state, -1, "tcp")
        lua_remove(state, -2)
        guard lua_pcall(state, 2, 1, 0) == 0 else {
            let message = luaString(state, -1) ?? "?"
            luaPop(state, 1)
            throw LuaLoadError(message: message)
        }
        luaL_unref(state, luaRegistryIndex, reference)
        // coroutine.status, with the chunk's table of user coroutines waiting for the loop.
        lua_pushlightuserdata(state, opaqueSelf)
        lua_insert(state, -2)
        lua_pushcclosure(state, { L in luaFinish(L!, LuaWorker.coroutineStatus(L!)) }, 2)
        lua_getfield(state, luaGlobalsIndex, "coroutine")
        lua_insert(state, -2)
        lua_setfield(state, -2, "status")
        luaPop(state, 1)

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

    /// `coroutine.status`: LuaJIT's answer, except that a coroutine waiting for the event loop
    /// (a user coroutine whose cosocket call is pending, in the wrappers' weak table, upvalue
    /// 2) and a live scheduler thread are "running", as the reference reports them. A C
    /// function, so that argument errors read as the reference's.
    static func coroutineStatus(_ L: LuaState) -> LuaReturn {
        guard let co = lua_tothread(L, 1) else { return L.argumentError(1, "coroutine expected") }
        var status: StaticString
        var frame = lua_Debug()
        var mayWait = true
        if co == L {
            status = "running"
            mayWait = false
        } else if lua_status(co) == LUA_YIELD {
            status = "suspended"
        } else if lua_status(co) != 0 {
            status = "dead"
            mayWait = false
        } else if lua_getstack(co, 0, &frame) != 0 {
            status = "normal"
        } else if lua_gettop(co) == 0 {
            status = "dead"
            mayWait = false
        } else {
            status = "suspended"
        }
        if mayWait {
            lua_pushvalue(L, 1)
            lua_rawget(L, luaUpvalueIndex(2))
            let waits = lua_toboolean(L, -1) != 0
            luaPop(L, 1)
            if waits || LuaWorker.from(L).isLiveSchedulerThread(co) { status = "running" }
        }
        lua_pushstring(L, status.utf8Start)
        return .values(1)
    }
}
