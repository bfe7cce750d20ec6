import CLuaJIT
import NIOCore

/// One `ngx.semaphore` of a worker: resources and the light threads parked in `wait`, served
/// first come, first served. Counts are C `int`s as in the reference, wrapping on overflow
/// (`post(2^31)` adds `INT_MIN`), so huge posts are bounded exactly as there.
final class LuaSemaphore {
    var resources: Int32
    private(set) var waiters = CircularBuffer<LuaCoroutine>()
    private var handlerScheduled = false

    init(resources: Int32) { self.resources = resources }

    /// `count()`: resources minus waiters.
    var count: Int32 { resources &- Int32(truncatingIfNeeded: waiters.count) }

    func removeWaiter(_ coroutine: LuaCoroutine) {
        if let index = waiters.firstIndex(where: { $0 === coroutine }) { waiters.remove(at: index) }
    }

    func park(_ coroutine: LuaCoroutine) { waiters.append(coroutine) }

    /// `post(n)`: the waiters it satisfies wake in a later turn of the loop, as nginx wakes
    /// them from a posted event, so the poster runs on first.
    func post(_ amount: Int32, worker: LuaWorker) {
        resources &+= amount
        guard !waiters.isEmpty, !handlerScheduled else { return }
        handlerScheduled = true
        worker.engine.execute { self.wakeWaiters(worker) }
    }

    private func wakeWaiters(_ worker: LuaWorker) {
        handlerScheduled = false
        while resources > 0, let coroutine = waiters.popFirst() {
            resources -= 1
            if case .semaphore(_, let timer) = coroutine.wait { timer?.cancel() }
            worker.wake(coroutine, with: .semaphore(acquired: true))
        }
    }

    /// The wait's timer fired first.
    func timedOut(_ coroutine: LuaCoroutine, worker: LuaWorker) {
        guard case .semaphore(let semaphore, _) = coroutine.wait, semaphore === self else { return }
        removeWaiter(coroutine)
        worker.wake(coroutine, with: .semaphore(acquired: false))
    }
}

/// `require "ngx.semaphore"`: the module lua-resty-core provides, with its arguments' checks
/// and errors (positions naming its file where its own Lua code fails). A semaphore is the
/// table `{ sem = <box> }` with the module as `__index`, as there.
enum SemaphoreAPI {
    private static let instanceMetatable = LuaRegistrySlot()
    private static let moduleFile = "/usr/share/lua/5.1/ngx/semaphore.lua"

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_getfield(L, luaGlobalsIndex, "package")
        lua_getfield(L, -1, "loaded")
        lua_createtable(L, 0, 5)
        luaPushString(L, "0.1.25")
        lua_setfield(L, -2, "version")
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
        lua_getfield(L, 1, "sem")
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
        if semaphore.waiters.isEmpty && semaphore.resources > 0 {
            semaphore.resources -= 1
            lua_pushboolean(L, 1)
            return .values(1)
        }
        if milliseconds == 0 { return L.softFailure("timeout") }
        semaphore.park(coroutine)
        // A wait beyond `int` (INT_MIN after conversion) is, as an nginx timer of that
        // unsigned size, forever.
        let timer = milliseconds > 0
            ? worker.engine.scheduleTask(in: .milliseconds(Int64(milliseconds))) { semaphore.timedOut(coroutine, worker: worker) }
            : nil
        coroutine.wait = .semaphore(semaphore, timer)
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
