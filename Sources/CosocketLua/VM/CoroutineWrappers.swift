import CLuaJIT

extension LuaWorker {
    /// Replaces `coroutine.resume`, `coroutine.wrap`, `coroutine.status` and
    /// `ngx.socket.connect`-style helpers with versions that let a cosocket wait inside a user
    /// coroutine.
    ///
    /// A cosocket that must wait yields its coroutine with a sentinel. When that coroutine is a
    /// user coroutine, the wrapped `resume` sees the sentinel and yields its own coroutine with
    /// it, up to the scheduler's coroutine; the operation's results, passed back down through
    /// each `resume`, become the cosocket call's return values. User code sees nothing:
    /// `coroutine.status` reports the chain as the reference does (``coroutineStatus(_:)``).
    func installCoroutineWrappers() throws {
        let source = """
            local sentinel, tcp = ...
            local raw_resume, raw_yield, raw_create, raw_status = coroutine.resume, coroutine.yield, coroutine.create, coroutine.status
            local error = error
            local raw_running = coroutine.running
            -- The status the reference gives coroutines in a resume chain: "normal" for one
            -- resuming another, "running" for one whose cosocket call waits for the loop.
            local chain = setmetatable({}, { __mode = "k" })
            local pass
            local function resumed(co, previous, ...)
              chain[co] = previous
              return pass(co, ...)
            end
            pass = function(co, ok, first, ...)
              if ok and first == sentinel and raw_status(co) == "suspended" then
                local previous = chain[co]
                if previous == nil then chain[co] = "running" end
                return resumed(co, previous, raw_resume(co, raw_yield(sentinel)))
              end
              return ok, first, ...
            end
            local function done(me, ...)
              chain[me] = nil
              return ...
            end
            -- How deep each coroutine sits in a chain of resumes: each nested resume takes
            -- native stack of the worker thread, and a coroutine.wrap recursion would
            -- otherwise overflow it (a crash). Refused as LuaJIT refuses deep C calls.
            local level = setmetatable({}, { __mode = "k" })
            local function resume(co, ...)
              local me = raw_running()
              local depth = (level[me] or 0) + 1
              if depth > 180 then return false, "C stack overflow" end
              level[co] = depth
              chain[me] = "normal"
              return done(me, pass(co, raw_resume(co, ...)))
            end
            coroutine.resume = resume
            local function unwrap(ok, ...)
              if not ok then error((...), 0) end
              return ...
            end
            coroutine.wrap = function(f)
              local co = raw_create(f)
              return function(...) return unwrap(resume(co, ...)) end
            end
            return chain
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
        // coroutine.status, with the chunk's table of the statuses of resume chains.
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

    /// `coroutine.status`: LuaJIT's answer, adjusted to the reference's. A coroutine in a
    /// resume chain has the status the wrappers noted (upvalue 2): "normal" while it resumes
    /// another, "running" while its cosocket call waits for the loop. A live scheduler thread
    /// is otherwise "running" (also while it spawns a light thread). A C function, so that
    /// argument errors read as the reference's.
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
            if lua_type(L, -1) == LUA_TSTRING { return .values(1) }
            luaPop(L, 1)
            if LuaWorker.from(L).isLiveSchedulerThread(co) { status = "running" }
        }
        lua_pushstring(L, status.utf8Start)
        return .values(1)
    }
}
