import CLuaJIT
import NIOCore

/// `ngx.timer.at`, `every`, `running_count` and `pending_count`: each expiry runs the callback
/// in a new context with its own coroutine, as the reference runs timers in fake requests.
enum TimerAPI {
    /// `lua_max_pending_timers` default.

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 4)
        luaSetField(L, -1, "at", { L in luaFinish(L!, TimerAPI.schedule(L!, repeating: false)) }, upvalue: worker)
        luaSetField(L, -1, "every", { L in luaFinish(L!, TimerAPI.schedule(L!, repeating: true)) }, upvalue: worker)
        luaSetField(L, -1, "running_count", { L in
            lua_pushinteger(L, lua_Integer(LuaWorker.from(L!).runningTimers))
            return 1
        }, upvalue: worker)
        luaSetField(L, -1, "pending_count", { L in
            lua_pushinteger(L, lua_Integer(LuaWorker.from(L!).pendingTimers))
            return 1
        }, upvalue: worker)
        lua_setfield(L, -2, "timer")
    }

    static func schedule(_ L: LuaState, repeating: Bool) -> LuaReturn {
        let worker = LuaWorker.from(L)
        let count = lua_gettop(L)
        guard count >= 2 else { return L.fail("expecting at least 2 arguments but got \(count)") }
        guard lua_type(L, 1) == LUA_TNUMBER else { return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))") }
        let delay = max(0, lua_tonumber(L, 1))
        // The reference tests the delay as whole milliseconds: 0.0001 is zero, -1 is not.
        if repeating && LuaNumber.truncated(lua_tonumber(L, 1) * 1000) == 0 { return L.fail("delay cannot be zero") }
        guard lua_type(L, 2) == LUA_TFUNCTION else { return L.argumentError(2, "Lua function expected") }
        if worker.isShuttingDown { return L.softFailure("process exiting") }
        if worker.pendingTimers >= worker.configuration.maxPendingTimers { return L.softFailure("too many pending timers") }
        // Keep the callback and its arguments: { callback, arg1, ..., n = count }.
        lua_createtable(L, count - 1, 1)
        for index in 2...count {
            lua_pushvalue(L, index)
            lua_rawseti(L, -2, index - 1)
        }
        lua_pushinteger(L, lua_Integer(count - 1))
        lua_setfield(L, -2, "n")
        let reference = luaL_ref(L, luaRegistryIndex)
        let creator = worker.current?.context
        let origin = creator?.request?.timerLogOrigin ?? creator?.timerOrigin
        worker.armTimer(reference, delay: .nanoseconds(Int64(LuaNumber.clamped(delay * 1_000_000_000))), repeating: repeating, origin: origin)
        lua_pushinteger(L, 1)
        return .values(1)
    }
}

extension LuaWorker {
    func armTimer(_ reference: Int32, delay: TimeAmount, repeating: Bool, origin: String?) {
        pendingTimers += 1
        engine.scheduleTask(in: delay) {
            self.pendingTimers -= 1
            if repeating && !self.isShuttingDown { self.armTimer(reference, delay: delay, repeating: true, origin: origin) }
            self.runTimer(reference, premature: self.isShuttingDown, keepCallback: repeating, origin: origin)
        }
    }

    /// Runs one expiry: `callback(premature, args...)` as the entry thread of a timer context.
    private func runTimer(_ reference: Int32, premature: Bool, keepCallback: Bool, origin: String?) {
        guard runningTimers < configuration.maxRunningTimers else {
            // The reference's alert; the expiry is dropped.
            log(.alert, "lua failed to run timer with function defined at \(timerFunctionPosition(reference)): \(configuration.maxRunningTimers) lua_max_running_timers are not enough")
            if !keepCallback { luaL_unref(state, luaRegistryIndex, reference) }
            return
        }
        let context = makeContext(kind: .timer)
        // The reference's log lines of a timer end with `, context: ngx.timer` and the origin.
        context.timerOrigin = origin
        context.logNumber = ConnectionNumbers.next()
        context.logContext = origin.map { "context: ngx.timer, " + $0 } ?? "context: ngx.timer"
        runningTimers += 1
        guard let coroutine = newCoroutine(in: context, isEntry: true, parent: nil) else {
            if !keepCallback { luaL_unref(state, luaRegistryIndex, reference) }
            return failStart(of: context)
        }
        let thread = coroutine.thread
        lua_rawgeti(thread, luaRegistryIndex, reference)
        lua_getfield(thread, -1, "n")
        let count = Int32(lua_tointeger(thread, -1))
        luaPop(thread, 1)
        lua_rawgeti(thread, -1, 1)
        lua_pushboolean(thread, premature ? 1 : 0)
        if count > 1 {
            for index in 2...count { lua_rawgeti(thread, 1, index) }
        }
        lua_remove(thread, 1)
        if !keepCallback { luaL_unref(state, luaRegistryIndex, reference) }
        resume(coroutine, arguments: count)
    }
}

extension LuaWorker {
    /// `@file:line` of the function a timer runs, as the reference names it in its alerts.
    fileprivate func timerFunctionPosition(_ reference: Int32) -> String {
        let L = state
        lua_rawgeti(L, luaRegistryIndex, reference)
        lua_rawgeti(L, -1, 1)
        var record = lua_Debug()
        defer { lua_settop(L, -2) }
        guard lua_getinfo(L, ">S", &record) != 0 else { return "?" }
        let source = record.source.map { String(cString: $0) } ?? "?"
        return "\(source):\(record.linedefined)"
    }
}
