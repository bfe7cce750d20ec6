import CLuaJIT
import NIOCore

/// One `ngx.semaphore` of a worker: resources and the light threads parked in `wait`, served
/// first come, first served. Counts are C `int`s as in the reference, wrapping on overflow
/// (`post(2^31)` adds `INT_MIN`), so huge posts are bounded exactly as there.
///
/// Wait timeouts share one loop timer per semaphore, set for the earliest deadline and
/// re-armed when it fires: a hand-off then costs no timer of its own (one per wait, set and
/// cancelled, was most of a ping-pong's time).
final class LuaSemaphore {
    private struct Waiter {
        let coroutine: LuaCoroutine
        /// `nil`: waits for good.
        let deadline: NIODeadline?
    }

    var resources: Int32
    private var waiters = CircularBuffer<Waiter>()
    private var handlerScheduled = false
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(resources: Int32) { self.resources = resources }

    var hasWaiters: Bool { !waiters.isEmpty }

    /// `count()`: resources minus waiters.
    var count: Int32 { resources &- Int32(truncatingIfNeeded: waiters.count) }

    func removeWaiter(_ coroutine: LuaCoroutine) {
        if let index = waiters.firstIndex(where: { $0.coroutine === coroutine }) { waiters.remove(at: index) }
    }

    /// Parks `coroutine` for up to `milliseconds` (`nil`: no timeout).
    func park(_ coroutine: LuaCoroutine, milliseconds: Int64?, worker: LuaWorker) {
        let deadline = milliseconds.map { NIODeadline.now() + .milliseconds($0) }
        waiters.append(Waiter(coroutine: coroutine, deadline: deadline))
        if let deadline { armTimer(for: deadline, worker: worker) }
    }

    private func armTimer(for deadline: NIODeadline, worker: LuaWorker) {
        if let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = worker.engine.eventLoop.scheduleTask(deadline: deadline) { [self] in timerFired(worker) }
    }

    /// Times out the waiters whose deadline passed, then re-arms for the next one.
    private func timerFired(_ worker: LuaWorker) {
        timer = nil
        timerDeadline = nil
        let now = NIODeadline.now()
        var expired: [LuaCoroutine] = []
        var next: NIODeadline?
        var kept = CircularBuffer<Waiter>()
        for waiter in waiters {
            if let deadline = waiter.deadline, deadline <= now {
                expired.append(waiter.coroutine)
            } else {
                kept.append(waiter)
                if let deadline = waiter.deadline, next.map({ deadline < $0 }) ?? true { next = deadline }
            }
        }
        waiters = kept
        if let next { armTimer(for: next, worker: worker) }
        for coroutine in expired { worker.wake(coroutine, with: .semaphore(acquired: false)) }
    }

    /// `post(n)`: the waiters it satisfies wake from a posted event, as nginx wakes them, so
    /// the poster runs on first.
    func post(_ amount: Int32, worker: LuaWorker) {
        resources &+= amount
        guard !waiters.isEmpty, !handlerScheduled else { return }
        handlerScheduled = true
        worker.postWakeups(of: self)
    }

    func wakeWaiters(_ worker: LuaWorker) {
        handlerScheduled = false
        while resources > 0, let waiter = waiters.popFirst() {
            resources -= 1
            worker.wake(waiter.coroutine, with: .semaphore(acquired: true))
        }
    }
}

/// `require "ngx.semaphore"`: the module lua-resty-core provides, with its arguments' checks
/// and errors (positions naming its file where its own Lua code fails). A semaphore is the
/// table `{ sem = <box> }` with the module as `__index`, as there.
enum SemaphoreAPI {
    private static let instanceMetatable = LuaRegistrySlot()
    /// The interned string `"sem"`: `lua_getfield` would intern it again on every call.
    private static let semKey = LuaRegistrySlot()
    private static let moduleFile = "/usr/share/lua/5.1/ngx/semaphore.lua"

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_getfield(L, luaGlobalsIndex, "package")
        lua_getfield(L, -1, "loaded")
        lua_createtable(L, 0, 5)
        luaPushString(L, "0.1.25")
        lua_setfield(L, -2, "version")
        luaPushString(L, "sem")
        semKey.store(L)
        luaSetField(L, -1, "new", { L in luaFinish(L!, SemaphoreAPI.new(L!)) }, upvalue: worker)
        luaSetField(L, -1, "wait", { L in luaFinish(L!, SemaphoreAPI.wait(L!)) }, upvalue: worker)
        luaSetField(L, -1, "post", { L in luaFinish(L!, SemaphoreAPI.post(L!)) }, upvalue: worker)
        luaSetField(L, -1, "count", { L in luaFinish(L!, SemaphoreAPI.count(L!)) }, upvalue: worker)
        lua_createtable(L, 0, 1)
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "__index")
        instanceMetatable.store(L)
        lua_setfield(L, -2, "ngx.semaphore")
        luaPop(L, 2)
    }

    /// `tonumber(value)`, or `nil`.
    private static func number(_ L: LuaState, _ index: Int32) -> Double? {
        lua_isnumber(L, index) != 0 ? lua_tonumber(L, index) : nil
    }

    static func new(_ L: LuaState) -> LuaReturn {
        let n = number(L, 1) ?? 0
        if n < 0 { return L.fail("no negative number") }
        let semaphore = LuaSemaphore(resources: LuaNumber.truncated32(n))
        lua_createtable(L, 0, 1)
        LuaBox.push(L, semaphore, seal: LuaWorker.from(L).boxSeal)
        lua_setfield(L, -2, "sem")
        instanceMetatable.push(L)
        lua_setmetatable(L, -2)
        return .values(1)
    }

    /// `self.sem`, when `self` is a semaphore instance.
    private static func instance(_ L: LuaState) -> LuaSemaphore? {
        guard lua_type(L, 1) == LUA_TTABLE else { return nil }
        semKey.push(L)
        lua_rawget(L, 1)
        defer { luaPop(L, 1) }
        return LuaBox.unbox(L, -1, as: LuaSemaphore.self, seal: LuaWorker.from(L).boxSeal)
    }

    static func wait(_ L: LuaState) -> LuaReturn {
        guard let semaphore = instance(L) else { return L.fail("not a semaphore instance") }
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current else {
            luaPushString(L, "\(moduleFile):126: no request found")
            return .rawError
        }
        guard let seconds = number(L, 2) else {
            luaPushString(L, "\(moduleFile):129: attempt to perform arithmetic on a nil value")
            return .rawError
        }
        if seconds * 1000 < 0 { return L.fail("no negative number") }
        let milliseconds = LuaNumber.truncated32(seconds * 1000)
        if !semaphore.hasWaiters && semaphore.resources > 0 {
            semaphore.resources -= 1
            lua_pushboolean(L, 1)
            return .values(1)
        }
        if milliseconds == 0 { return L.softFailure("timeout") }
        // A wait beyond `int` (INT_MIN after conversion) is, as an nginx timer of that
        // unsigned size, forever.
        semaphore.park(coroutine, milliseconds: milliseconds > 0 ? Int64(milliseconds) : nil, worker: worker)
        coroutine.wait = .semaphore(semaphore)
        lua_settop(L, 0)
        return .yield
    }

    static func post(_ L: LuaState) -> LuaReturn {
        guard let semaphore = instance(L) else { return L.fail("not a semaphore instance") }
        // `n and tonumber(n) or 1`
        let amount = lua_toboolean(L, 2) != 0 ? (number(L, 2) ?? 1) : 1
        if amount < 1 { return L.fail("positive number required") }
        semaphore.post(LuaNumber.truncated32(amount), worker: LuaWorker.from(L))
        lua_pushboolean(L, 1)
        return .values(1)
    }

    static func count(_ L: LuaState) -> LuaReturn {
        guard let semaphore = instance(L) else { return L.fail("not a semaphore instance") }
        lua_pushinteger(L, lua_Integer(semaphore.count))
        return .values(1)
    }
}
