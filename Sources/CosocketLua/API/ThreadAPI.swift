import CLuaJIT

/// `ngx.thread.spawn`, `wait` and `kill`: light threads are scheduler coroutines of the same
/// context, started at once and run until they first yield.
enum ThreadAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 3)
        luaSetField(L, -1, "spawn", { L in luaFinish(L!, ThreadAPI.spawn(L!)) }, upvalue: worker)
        luaSetField(L, -1, "wait", { L in luaFinish(L!, ThreadAPI.wait(L!)) }, upvalue: worker)
        luaSetField(L, -1, "kill", { L in luaFinish(L!, ThreadAPI.kill(L!)) }, upvalue: worker)
        lua_setfield(L, -2, "thread")
    }

    static func spawn(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard let parent = worker.current else { return L.fail("no request found") }
        if let refusal = L.refusalWhenRunningToEnd() { return refusal }
        guard lua_type(L, 1) == LUA_TFUNCTION else { return L.argumentError(1, "Lua function expected") }
        let count = lua_gettop(L)
        guard let child = worker.newCoroutine(in: parent.context, isEntry: false, parent: parent) else {
            // Interned when the VM was made: pushing it allocates nothing.
            luaPushString(L, LuaWorker.outOfMemory)
            return .rawError
        }
        lua_xmove(L, child.thread, count)
        // Keep the thread value on the parent's stack: it is the result, even if the child ends now.
        lua_rawgeti(L, luaRegistryIndex, child.reference)
        worker.resume(child, arguments: count - 1)
        return .values(1)
    }

    static func wait(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard let current = worker.current else { return L.fail("no request found") }
        let count = lua_gettop(L)
        guard count >= 1 else { return L.fail("at least one coroutine should be specified") }
        var threads: [LuaCoroutine] = []
        for index in 1...count {
            guard let thread = lua_tothread(L, index) else {
                return L.argumentError(index, "lua thread expected")
            }
            guard let coroutine = worker.lightThread(thread), coroutine.parentSerial == current.serial else {
                return L.fail("only the parent coroutine can wait on the thread")
            }
            if coroutine.isDead {
                if coroutine.resultsCollected { return L.softFailure("already waited or killed") }
                coroutine.resultsCollected = true
                lua_settop(L, 0)
                return .values(worker.pushThreadResults(coroutine, on: L))
            }
            threads.append(coroutine)
        }
        for thread in threads { thread.waiter = current }
        current.awaited = threads
        current.wait = .threads
        lua_settop(L, 0)
        return .yield
    }

    static func kill(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard let current = worker.current else { return L.fail("no request found") }
        guard let thread = lua_tothread(L, 1) else { return L.argumentError(1, "lua thread expected") }
        guard let coroutine = worker.lightThread(thread) else { return L.softFailure("already waited or killed") }
        if coroutine.isDead { return L.softFailure("already waited or killed") }
        guard coroutine.parentSerial == current.serial else { return L.softFailure("killer not parent") }
        worker.kill(coroutine)
        lua_pushinteger(L, 1)
        return .values(1)
    }
}

extension LuaWorker {
    /// The light thread behind a Lua thread value, alive or finished with results uncollected.
    func lightThread(_ thread: LuaState) -> LuaCoroutine? {
        if let live = coroutines[thread], !live.isEntry { return live }
        return finishedThreads[thread]
    }

    /// Whether `thread` is an entry, light or timer thread that has not ended (for
    /// `coroutine.status`, which reports those as running, as the reference does).
    func isLiveSchedulerThread(_ thread: LuaState) -> Bool {
        if let live = coroutines[thread] { return !live.isDead }
        return liveEntries.contains { $0?.thread == thread }
    }
}
