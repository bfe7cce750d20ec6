import CLuaJIT
import CosocketCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Errors loading Lua code.
public struct LuaLoadError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// One worker's Lua VM: a LuaJIT state on the worker's event loop, with the `ngx` API
/// injected and a scheduler that runs every request, timer and script in its own coroutine.
///
/// A coroutine that calls a cosocket operation which cannot finish yields to the scheduler;
/// the engine's completion pushes the results and resumes it. Everything runs on the loop,
/// so the VM needs no lock.
public final class LuaWorker: @unchecked Sendable {
    public let engine: CosocketEngine
    public let state: LuaState
    public let workerID: Int
    public let configuration: LuaConfiguration
    public var errorLog: any LuaErrorLog

    /// An unretained pointer to `self`, the upvalue of every injected C function.
    var opaqueSelf: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Running light threads by thread value, for `ngx.thread.wait` and `kill`.
    var coroutines: [LuaState: LuaCoroutine] = [:]
    /// Running entry threads (slots reused through `freeEntrySlots`), for shutdown: listing
    /// them costs no hashing per request.
    private(set) var liveEntries: [LuaCoroutine?] = []
    private var freeEntrySlots: [Int] = []
    /// Light threads that ended before anyone waited for them, by thread value.
    var finishedThreads: [LuaState: LuaCoroutine] = [:]
    /// The scheduler-level coroutine whose code is running now.
    var current: LuaCoroutine?
    var resumeDepth = 0
    private var ready = CircularBuffer<LuaCoroutine>()
    /// Semaphores whose `post` left waiters to wake (nginx's posted events; semaphores are
    /// the only ones that post here). An array of them, not of closures: a hand-off costs no
    /// allocation.
    private var postedSemaphores: [LuaSemaphore] = []
    private var isDraining = false
    /// Reused by `ngx.say`/`ngx.print` to assemble their arguments without allocating.
    var outputScratch = ByteBuffer()
    /// Reused by `tcpsock:send` to assemble what it sends.
    var sendScratch = ByteBuffer()
    /// The seal of this VM's boxed objects: its box metatable's identity (``LuaBox``).
    var boxSeal: UnsafeRawPointer?
    /// Sockets Lua has collected, reset for the next `ngx.socket.tcp()`: a request that opens
    /// a socket then costs no allocation of the socket pair (nor of their weak-reference side
    /// tables) and no deallocation when it is collected.
    var spareSockets: [LuaSocket] = []
    /// Compiled `ngx.re` patterns (option `o`) and the match context.
    lazy var regexCache = RegexCache(worker: self)
    /// The last target `connect` named (see ``RecentConnectTarget``).
    var recentConnectTarget = RecentConnectTarget()
    /// The last ``LuaContext/serial`` given out.
    var lastContextSerial: UInt64 = 0
    /// Numbers the runs of coroutines (``LuaCoroutine/serial``).
    var lastCoroutineSerial: UInt64 = 0
    /// Threads for ``runToEnd(_:in:argument:results:read:)``, with their registry references.
    var spareRunThreads: [(LuaState, Int32)] = []
    /// The body filter's `ngx.arg` proxy table, made on first use.
    var bodyFilterArgReference: Int32 = LUA_NOREF
    /// The error handler of ``runToEnd(_:in:wantsResult:)``, made once.
    var runErrorHandlerReference: Int32 = LUA_NOREF
    /// Set while the VM closes, when finalizers must not keep anything.
    private(set) var isClosing = false
    static let spareSocketLimit = 512
    /// Entry coroutines whose function returned, with their threads, ready for the next
    /// request or timer: saves a `lua_newthread` (and the garbage it leaves) and the
    /// coroutine object's allocation per request.
    private var spareEntryCoroutines: [LuaCoroutine] = []
    private static let spareEntryCoroutineLimit = 64
    /// What spare entry coroutines point at instead of the context they ran in, which they
    /// must not keep alive.
    private let parkedContext = LuaContext(kind: .script)
    /// Contexts that ended and that nothing holds any more, for ``makeContext(kind:)``.
    /// The host may still hold them: each is checked when taken.
    private var endedContexts: [LuaContext] = []
    private static let endedContextLimit = 64
    var pendingTimers = 0
    var runningTimers = 0
    /// Set by `shutdown`: timers fire as premature and new ones are refused.
    var isShuttingDown = false
    /// What this worker's FFI calls see of it (``FFIWorker``).
    private(set) var ffiWorker: FFIWorker?

    public var eventLoop: EventLoop { engine.eventLoop }

    public init(engine: CosocketEngine, workerID: Int = 0, configuration: LuaConfiguration = LuaConfiguration(), errorLog: any LuaErrorLog) throws {
        guard let state = luaL_newstate() else { throw LuaLoadError(message: "cannot create a Lua state") }
        self.engine = engine
        self.state = state
        self.workerID = workerID
        self.configuration = configuration
        self.errorLog = errorLog
        luaL_openlibs(state)
        setPackagePaths()
        if let environment = configuration.environment { try installEnvironment(environment) }
        installNgxAPI()
        try installCoroutineWrappers()
        ffiWorker = FFIWorker.adopt(self)
        try RestyCore.load(self)
        try GlobalWriteGuard.install(self)
    }

    /// `thread_pool`s this worker has used (`ngx.run_worker_thread`), made on first use.
    private var workerThreadPools: [String: WorkerThreadPool] = [:]

    func workerThreadPool(named name: String) -> WorkerThreadPool? {
        if let pool = workerThreadPools[name] { return pool }
        guard let declared = configuration.threadPools[name] else { return nil }
        lua_getfield(state, luaGlobalsIndex, "package")
        lua_getfield(state, -1, "path")
        lua_getfield(state, -2, "cpath")
        let pool = WorkerThreadPool(
            name: name, size: declared.threads, maximumQueue: declared.maximumQueue,
            packagePath: luaString(state, -2) ?? "", packageCPath: luaString(state, -1) ?? "", prefix: configuration.prefix
        )
        luaPop(state, 3)
        workerThreadPools[name] = pool
        return pool
    }

    deinit {
        for pool in workerThreadPools.values { pool.shutdown() }
        // Collected sockets are freed, not kept, from here on (see ``LuaBox``).
        isClosing = true
        lua_close(state)
    }

    /// Replaces `os.getenv` with a lookup in `environment` (see ``LuaConfiguration/environment``).
    private func installEnvironment(_ environment: [String: String]) throws {
        let install = try load(Array("local env = ... os.getenv = function(name) return env[name] end".utf8), chunkName: "=env")
        lua_rawgeti(state, luaRegistryIndex, install)
        luaL_unref(state, luaRegistryIndex, install)
        lua_createtable(state, 0, Int32(environment.count))
        for (name, value) in environment {
            luaPushString(state, value)
            lua_setfield(state, -2, name)
        }
        guard lua_pcall(state, 1, 0, 0) == 0 else {
            let message = luaString(state, -1) ?? "unknown error"
            luaPop(state, 1)
            throw LuaLoadError(message: message)
        }
    }

    private func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// `lua_package_path` wins, then the `LUA_PATH` environment variable, then the default; `;;`
    /// in either stands for the default, as in nginx and the stand-alone interpreter.
    private func setPackagePaths() {
        let path = configuration.packagePath ?? environment("LUA_PATH")
        let cpath = configuration.packageCPath ?? environment("LUA_CPATH")
        luaSetPackagePaths(
            state,
            path: LuaConfiguration.resolve(path, default: LuaConfiguration.defaultPackagePath),
            cpath: LuaConfiguration.resolve(cpath, default: LuaConfiguration.defaultPackageCPath)
        )
    }

    // MARK: Loading code

    /// Compiles `source` and returns a registry reference to the function.
    public func load(_ source: [UInt8], chunkName: String) throws -> Int32 {
        let status = source.withUnsafeBufferPointer { buffer in
            luaL_loadbuffer(state, UnsafeRawPointer(buffer.baseAddress)?.assumingMemoryBound(to: CChar.self), buffer.count, chunkName)
        }
        if status != 0 {
            let message = luaString(state, -1) ?? "unknown error"
            luaPop(state, 1)
            throw LuaLoadError(message: message)
        }
        return luaL_ref(state, luaRegistryIndex)
    }

    /// Runs a loaded function (`reference`) as the entry thread of `context` with `arguments`
    /// (strings). Returns once the entry thread first yields or ends; `context.onFinish`
    /// reports the end of the whole context.
    public func start(_ reference: Int32, in context: LuaContext, arguments: [String] = []) {
        guard let coroutine = newCoroutine(in: context, isEntry: true, parent: nil) else {
            return failStart(of: context)
        }
        lua_rawgeti(coroutine.thread, luaRegistryIndex, reference)
        for argument in arguments {
            let pushed = argument.utf8.withContiguousStorageIfAvailable { bytes in
                bytes.withMemoryRebound(to: CChar.self) { cosocket_protected_pushlstring(state, coroutine.thread, $0.baseAddress, $0.count) }
            } ?? cosocket_protected_pushlstring(state, coroutine.thread, argument, argument.utf8.count)
            guard pushed == 0 else {
                lua_settop(coroutine.thread, 0)
                return finish(coroutine, error: (Self.outOfMemory, Self.outOfMemory))
            }
        }
        resume(coroutine, arguments: Int32(arguments.count))
    }

    /// LuaJIT's words when an allocation fails.
    static let outOfMemory = "not enough memory"

    /// A context whose entry thread could not be made (the VM's memory is exhausted) ends as
    /// one whose entry thread failed at once.
    func failStart(of context: LuaContext) {
        context.failure = Self.outOfMemory
        log(.error, "lua entry thread aborted: runtime error: \(Self.outOfMemory)", in: context)
        lua_gc(state, LUA_GCCOLLECT, 0)
        endContext(context)
    }

    /// A new thread anchored in the registry, or nil when memory ran out: made in a protected
    /// call, since LuaJIT ends the process when an allocation outside one fails.
    func newThread() -> (thread: LuaState, reference: Int32)? {
        var reference: Int32 = LUA_NOREF
        guard let thread = cosocket_protected_newthread(state, &reference) else { return nil }
        return (thread, reference)
    }

    // MARK: Coroutines

    /// A context for a request phase, a timer or a script: one that ended before, when one is
    /// spare, which saves its allocation per request.
    public func makeContext(kind: LuaContext.Kind) -> LuaContext {
        while var context = endedContexts.popLast() {
            // Still held (by a host reading its outcome, or a coroutine not yet gone): left to it.
            guard isKnownUniquelyReferenced(&context) else { continue }
            context.prepareForReuse()
            context.kind = kind
            return context
        }
        return LuaContext(kind: kind)
    }

    /// Nil when the VM's memory is exhausted.
    func newCoroutine(in context: LuaContext, isEntry: Bool, parent: LuaCoroutine?) -> LuaCoroutine? {
        let coroutine: LuaCoroutine
        if isEntry, var spare = spareEntryCoroutines.popLast() {
            if !spare.hasSpawned && isKnownUniquelyReferenced(&spare) {
                spare.reuse(in: context)
                coroutine = spare
            } else {
                // Still referenced (a resumption or a light thread's wait may hold it): only its thread
                // is reused, as the old object may still be asked whether it is dead.
                coroutine = LuaCoroutine(thread: spare.thread, reference: spare.reference, context: context, isEntry: true)
            }
        } else {
            guard let (thread, reference) = newThread() else { return nil }
            // A new thread may sit at the address of a collected one.
            finishedThreads[thread] = nil
            coroutine = LuaCoroutine(thread: thread, reference: reference, context: context, isEntry: isEntry)
        }
        lastCoroutineSerial &+= 1
        coroutine.serial = lastCoroutineSerial
        if let parent {
            coroutine.parentSerial = parent.serial
            parent.hasSpawned = true
        }
        if context.serial == 0 {
            lastContextSerial &+= 1
            context.serial = lastContextSerial
        }
        // What resty.core's `get_request()` finds (``FFIRequest``).
        lua_setexdata(coroutine.thread, FFIRequest.pointer(of: self, in: context))
        if isEntry {
            if let slot = freeEntrySlots.popLast() {
                liveEntries[slot] = coroutine
                coroutine.liveEntrySlot = slot
            } else {
                liveEntries.append(coroutine)
                coroutine.liveEntrySlot = liveEntries.count - 1
            }
        } else {
            coroutines[coroutine.thread] = coroutine
        }
        if isEntry && context.liveEntry == nil {
            context.liveEntry = coroutine
        } else {
            context.liveOthers.append(coroutine)
        }
        return coroutine
    }

    /// Takes a coroutine that ended or was killed out of the live lists.
    private func forgetLive(_ coroutine: LuaCoroutine) {
        if coroutine.liveEntrySlot >= 0 {
            liveEntries[coroutine.liveEntrySlot] = nil
            freeEntrySlots.append(coroutine.liveEntrySlot)
            coroutine.liveEntrySlot = -1
        } else {
            coroutines[coroutine.thread] = nil
        }
        let context = coroutine.context
        if context.liveEntry === coroutine {
            context.liveEntry = nil
        } else {
            context.liveOthers.removeAll { $0 === coroutine }
        }
    }

    /// Kills every coroutine `context` still runs.
    private func killLive(of context: LuaContext) {
        if let entry = context.liveEntry { kill(entry) }
        for coroutine in context.liveOthers { kill(coroutine) }
    }

    /// Resumes `coroutine` with `arguments` values on its stack (above anything it yielded).
    func resume(_ coroutine: LuaCoroutine, arguments: Int32) {
        let saved = current
        current = coroutine
        // Shared dicts read nginx's cached time: fixed while this runs.
        if resumeDepth == 0 { SharedDict.refreshCachedTime() }
        resumeDepth += 1
        let status = lua_resume(coroutine.thread, arguments)
        resumeDepth -= 1
        current = saved
        switch status {
        case LUA_YIELD:
            if case .exit = coroutine.wait {
                exitPhaseOrContext(coroutine.context)
            } else if coroutine.wait == nil && !coroutine.isQueued {
                // A plain `coroutine.yield()` in a scheduler thread: give the loop a turn.
                // (An operation that completed before its call yielded has queued the
                // coroutine already: it must not be resumed twice.)
                lua_settop(coroutine.thread, 0)
                coroutine.wait = .nextTick
                engine.execute { self.wake(coroutine, with: .nothing) }
            }
        case 0:
            finish(coroutine, error: nil)
        default:
            // The reference's words for an error value that is not a string or a number.
            let message = luaString(coroutine.thread, -1) ?? "unknown reason"
            finish(coroutine, error: (message, traceback(of: coroutine, message: message)))
        }
        if resumeDepth == 0 { drainReady() }
    }

    /// The reference's traceback of a thread that failed: `stack traceback:`, then the frames
    /// of each coroutine from the failing one up through the live threads that spawned it,
    /// each headed `coroutine N:` (at most 10, as the reference).
    private func traceback(of failed: LuaCoroutine, message: String) -> String {
        var text = message + "\nstack traceback:"
        var next: LuaCoroutine? = failed
        var number = 0
        while let coroutine = next, number < 10 {
            text += "\ncoroutine \(number):"
            number += 1
            // Built in a protected call: the VM may be out of memory (see shim.h).
            if cosocket_protected_traceback(state, coroutine.thread, nil) == 0 {
                let frames = luaString(coroutine.thread, -1) ?? ""
                luaPop(coroutine.thread, 1)
                // luaL_traceback's own heading line goes; its frames stay.
                if let lineEnd = frames.firstIndex(of: "\n") { text += frames[lineEnd...] }
            }
            guard coroutine.parentSerial != 0 else { break }
            let context = coroutine.context
            next = ([context.liveEntry].compactMap { $0 } + context.liveOthers).first {
                $0.serial == coroutine.parentSerial && !$0.isDead
            }
        }
        return text
    }

    /// Queues `coroutine` to continue with `value` (an operation's result). Resumes at once
    /// unless Lua code is running, in which case the running code finishes its step first.
    func wake(_ coroutine: LuaCoroutine, with value: LuaCoroutine.Resumption) {
        guard !coroutine.isDead, coroutine.wait != nil else { return }
        coroutine.wait = nil
        coroutine.resumption = value
        coroutine.isQueued = true
        ready.append(coroutine)
        if resumeDepth == 0 { drainReady() }
    }

    /// Runs the woken coroutines, then the posted events, until neither is left. One drain
    /// at a time: a resume that ends inside it leaves the rest to this loop instead of
    /// draining from deeper in the stack (a semaphore ping-pong would nest without end).
    private func drainReady() {
        guard !isDraining else { return }
        isDraining = true
        defer { isDraining = false }
        while true {
            while let coroutine = ready.popFirst() {
                coroutine.isQueued = false
                guard !coroutine.isDead else { continue }
                let thread = coroutine.thread
                lua_settop(thread, 0)
                let count = pushResumption(coroutine.resumption, on: thread)
                coroutine.resumption = .nothing
                resume(coroutine, arguments: count)
            }
            guard !postedSemaphores.isEmpty else { return }
            // Swapped with a spare so the array's storage is reused rather than reallocated.
            swap(&postedSemaphores, &runningSemaphores)
            for semaphore in runningSemaphores { semaphore.wakeWaiters(self) }
            runningSemaphores.removeAll(keepingCapacity: true)
        }
    }

    private var runningSemaphores: [LuaSemaphore] = []

    /// nginx's posted events: a semaphore's wake-ups run once the running code has yielded
    /// and the coroutines woken before them have run, without a turn of the event loop.
    func postWakeups(of semaphore: LuaSemaphore) {
        postedSemaphores.append(semaphore)
        if resumeDepth == 0 { drainReady() }
    }

    private func pushResumption(_ value: LuaCoroutine.Resumption, on L: LuaState) -> Int32 {
        switch value {
        case .nothing:
            return 0
        case .connect(let result):
            return LuaSocket.pushConnectResult(L, result)
        case .read(let outcome, let untilIteration):
            return LuaSocket.pushReadOutcome(L, outcome, untilIteration: untilIteration)
        case .send(let result):
            return LuaSocket.pushSendResult(L, result)
        case .datagram(let result):
            return LuaUDPSocket.pushReceiveResult(L, result)
        case .threadResult(let finished):
            return pushThreadResults(finished, on: L)
        case .flushed:
            lua_pushinteger(L, 1)
            return 1
        case .push(let values):
            return values(L)
        case .semaphore(let acquired):
            lua_pushboolean(L, acquired ? 1 : 0)
            if acquired { lua_pushnil(L) } else { luaPushString(L, "timeout") }
            return 2
        }
    }

    /// Ends a coroutine: records its results for `ngx.thread.wait`, wakes a waiting parent,
    /// and ends the context when nothing of it is left.
    func finish(_ coroutine: LuaCoroutine, error: (message: String, traceback: String)?) {
        guard !coroutine.isDead else { return }
        // Parked only after `end`, whose references to the context are gone by then.
        if end(coroutine, error: error) { park(coroutine) }
        // A handler that ran the VM out of memory leaves its garbage behind; the next
        // allocation outside a protected call (a new thread, a reference) would then fail
        // too, and LuaJIT panics (aborts) there. Collect it now, while nothing runs.
        if let error, error.message.hasSuffix("not enough memory") { lua_gc(state, LUA_GCCOLLECT, 0) }
    }

    /// The work of ``finish(_:error:)``; `true` when the coroutine is to be kept for reuse.
    private func end(_ coroutine: LuaCoroutine, error: (message: String, traceback: String)?) -> Bool {
        coroutine.isDead = true
        let context = coroutine.context
        if let error {
            if coroutine.isEntry {
                context.failure = error.message
                if context.reportsFailureAsRun {
                    log(.error, "failed to run \(context.disabledContextName): \(error.traceback)", in: context)
                } else {
                    log(.error, "lua entry thread aborted: runtime error: \(error.traceback)", in: context)
                }
            } else {
                log(.error, "lua user thread aborted: runtime error: \(error.traceback)", in: context)
            }
        }
        if !coroutine.isEntry {
            recordResults(coroutine, error: error?.message)
            // Kept (collected or not) until the context ends, so a second wait can say so.
            finishedThreads[coroutine.thread] = coroutine
            context.finishedThreads.append(coroutine)
            if let waiter = coroutine.waiter {
                coroutine.waiter = nil
                if !waiter.isDead {
                    coroutine.resultsCollected = true
                    for other in waiter.awaited where other !== coroutine { other.waiter = nil }
                    waiter.awaited = []
                    wake(waiter, with: .threadResult(coroutine))
                }
            }
        }
        forgetLive(coroutine)
        // A thread whose function returned can run another one. Light threads are not
        // reused, since Lua code holds their thread values. Nor is a coroutine that still
        // names a wait: an operation whose yield failed (inside a C call, caught by `pcall`)
        // set it, and the next run must not inherit it.
        let isSpare = coroutine.isEntry && error == nil && coroutine.wait == nil && !coroutine.isQueued
            && spareEntryCoroutines.count < Self.spareEntryCoroutineLimit
        if isSpare {
            lua_settop(coroutine.thread, 0)
        } else {
            luaL_unref(state, luaRegistryIndex, coroutine.reference)
        }
        if coroutine.isEntry && error != nil {
            // An entry thread's error ends the whole context, light threads included.
            endContext(context)
        } else if !context.hasLiveCoroutines && context.delegate?.luaContextPhaseEnded(context) != true {
            endContext(context)
        }
        // Parked only after this: a next phase started above must not be handed this coroutine.
        return isSpare
    }

    /// Keeps a finished entry coroutine for another run, and the context it ended for
    /// ``makeContext(kind:)``.
    private func park(_ coroutine: LuaCoroutine) {
        let context = coroutine.context
        coroutine.context = parkedContext
        if context.isFinished {
            // Its host objects are let go now, not when the context is taken again: a request
            // keeps the connection's receive buffer shared until it is released.
            context.output = nil
            context.request = nil
            if endedContexts.count < Self.endedContextLimit { endedContexts.append(context) }
        }
        spareEntryCoroutines.append(coroutine)
    }

    /// Kills a coroutine that is not running (a light thread, or every thread of a context
    /// ending by `ngx.exit` or an error): cancels what it waits for.
    func kill(_ coroutine: LuaCoroutine) {
        guard !coroutine.isDead else { return }
        cancelWait(of: coroutine)
        coroutine.isDead = true
        coroutine.resultsCollected = true
        forgetLive(coroutine)
        luaL_unref(state, luaRegistryIndex, coroutine.reference)
    }

    /// Cancels what `coroutine` waits for: the operation will not resume it.
    private func cancelWait(of coroutine: LuaCoroutine) {
        switch coroutine.wait {
        case .socket(let socket): socket.coroutineKilled(coroutine)
        case .datagram(let socket): socket.coroutineKilled(coroutine)
        case .sleep(let timer): timer?.cancel()
        case .semaphore(let semaphore): semaphore.removeWaiter(coroutine)
        case .threads, .nextTick, .exit, .flush, .requestBody, .subrequests, nil: break
        }
        coroutine.wait = nil
        for awaited in coroutine.awaited { awaited.waiter = nil }
        coroutine.awaited = []
    }

    /// An operation of the running coroutine set up its wait, then found it cannot yield (it
    /// was called from inside a C function, such as a `string.gsub` callback): the wait is
    /// dropped before the error is raised, so that it can neither wake a later wait early nor
    /// block the next `coroutine.yield`. (nginx gets the same by re-arming one timer per
    /// coroutine.)
    func abandonWait() {
        if let coroutine = current { cancelWait(of: coroutine) }
    }

    /// `ngx.exit`: ends the context, except that `ngx.exit(ngx.OK)` in a request phase ends
    /// only that phase and lets the next one run, as the reference does.
    private func exitPhaseOrContext(_ context: LuaContext) {
        if context.exitStatus == 0, let delegate = context.delegate {
            killLive(of: context)
            context.exitStatus = nil
            if delegate.luaContextPhaseEnded(context) { return }
        }
        endContext(context)
    }

    /// Ends `context` from outside, as if its code had returned (its host is gone: a TLS
    /// handshake whose client left while a hook ran).
    public func cancel(_ context: LuaContext) {
        endContext(context)
    }

    /// Ends `context`: kills what still runs, closes its sockets, releases `ngx.ctx`.
    func endContext(_ context: LuaContext) {
        guard !context.isFinished else { return }
        context.isFinished = true
        killLive(of: context)
        context.liveEntry = nil
        context.liveOthers = []
        context.firstSocket?.contextEnded(context)
        for socket in context.moreSockets { socket.contextEnded(context) }
        for socket in context.datagramSockets { socket.contextEnded(context) }
        context.datagramSockets = []
        // Per context, not a scan of every worker's finished threads (which made many
        // concurrent requests with light threads quadratic).
        for finished in context.finishedThreads {
            if finishedThreads[finished.thread] === finished { finishedThreads[finished.thread] = nil }
            if finished.resultsReference != LUA_NOREF { luaL_unref(state, luaRegistryIndex, finished.resultsReference) }
        }
        context.finishedThreads = []
        context.firstSocket = nil
        context.moreSockets = []
        if context.abortHandlerReference != LUA_NOREF {
            luaL_unref(state, luaRegistryIndex, context.abortHandlerReference)
            context.abortHandlerReference = LUA_NOREF
        }
        if case .timer = context.kind { runningTimers -= 1 }
        // The host usually holds the context: let go of it to break the cycle.
        let delegate = context.delegate
        context.delegate = nil
        delegate?.luaContextFinished(context)
        // After the delegate, which may hand the table on (``LuaContext/adoptCtx(of:)``).
        if context.ctxReference != LUA_NOREF {
            releaseCtx(context.ctxReference, in: context)
            context.ctxReference = LUA_NOREF
        }
        context.ctxOwner = nil
    }

    /// Lets go of an `ngx.ctx` table, with the reference's debug line (tests look for it).
    private func releaseCtx(_ reference: Int32, in context: LuaContext) {
        if configuration.logLevel >= .debug { log(.debug, "lua release ngx.ctx at ref \(reference)", in: context) }
        luaL_unref(state, luaRegistryIndex, reference)
    }

    /// `ngx.exec`: the request's `ngx.ctx` is gone, as an internal redirect destroys it in
    /// the reference; the next phase starts with an empty table.
    public func clearCtx(of context: LuaContext) {
        let holder = context.ctxHolder
        guard holder.ctxReference != LUA_NOREF else { return }
        releaseCtx(holder.ctxReference, in: context)
        holder.ctxReference = LUA_NOREF
    }

    /// The client closed its connection while `context` runs (`lua_check_client_abort on`):
    /// the `ngx.on_abort` handler runs as a light thread of the entry thread, or, without one,
    /// the request ends as `ngx.exit(499)` would end it.
    public func clientAborted(_ context: LuaContext) {
        guard !context.isFinished, context.checksClientAbort else { return }
        let handler = context.abortHandlerReference
        guard handler != LUA_NOREF else {
            context.exitStatus = 499
            endContext(context)
            return
        }
        context.abortHandlerReference = LUA_NOREF
        let entry = context.liveEntry ?? context.liveOthers.first { $0.isEntry }
        guard let coroutine = newCoroutine(in: context, isEntry: false, parent: entry) else {
            // No memory for the handler's thread: the request ends as without a handler.
            luaL_unref(state, luaRegistryIndex, handler)
            context.exitStatus = 499
            endContext(context)
            return
        }
        lua_rawgeti(coroutine.thread, luaRegistryIndex, handler)
        luaL_unref(state, luaRegistryIndex, handler)
        resume(coroutine, arguments: 0)
    }

    // MARK: Thread results

    private func recordResults(_ coroutine: LuaCoroutine, error: String?) {
        let thread = coroutine.thread
        let L = state
        if let error {
            lua_createtable(L, 2, 1)
            lua_pushboolean(L, 0)
            lua_rawseti(L, -2, 1)
            luaPushString(L, error)
            lua_rawseti(L, -2, 2)
            lua_pushinteger(L, 2)
        } else {
            let count = lua_gettop(thread)
            lua_createtable(L, count + 1, 1)
            lua_pushboolean(L, 1)
            lua_rawseti(L, -2, 1)
            lua_xmove(thread, L, count)
            var index = count
            while index >= 1 {
                lua_rawseti(L, -2 - (index - 1), index + 1)
                index -= 1
            }
            lua_pushinteger(L, lua_Integer(count + 1))
        }
        lua_setfield(L, -2, "n")
        coroutine.resultsReference = luaL_ref(L, luaRegistryIndex)
    }

    /// Pushes a dead light thread's `true, values...` or `false, error` and forgets them.
    func pushThreadResults(_ coroutine: LuaCoroutine, on L: LuaState) -> Int32 {
        guard coroutine.resultsReference != LUA_NOREF else {
            lua_pushboolean(L, 0)
            luaPushString(L, "killed")
            return 2
        }
        lua_rawgeti(L, luaRegistryIndex, coroutine.resultsReference)
        lua_getfield(L, -1, "n")
        let count = Int32(lua_tointeger(L, -1))
        luaPop(L, 1)
        for index in 1...max(count, 1) { lua_rawgeti(L, -Int32(index), Int32(index)) }
        lua_remove(L, -Int32(max(count, 1)) - 1)
        luaL_unref(state, luaRegistryIndex, coroutine.resultsReference)
        coroutine.resultsReference = LUA_NOREF
        return max(count, 1)
    }

    // MARK: Error log

    /// Logs `message`, with the request's client, server, request line and host appended as
    /// nginx appends them when `context` (by default the running one) serves a request.
    func log(_ level: LuaLogLevel, _ message: String, in context: LuaContext? = nil) {
        let context = context ?? current?.context
        guard let request = context?.request else {
            let number = context.map { $0.logNumber > 0 ? "*\($0.logNumber) " : "" } ?? ""
            guard let suffix = context?.logContext else { return errorLog.log(level, number + message) }
            return errorLog.log(level, number + message + ", " + suffix)
        }
        let number = "*\(request.connectionNumber) "
        // nginx's log action while the log phase runs.
        if case .request("log")? = context?.kind {
            return errorLog.log(level, number + message + " while logging request, " + request.errorLogContext)
        }
        errorLog.log(level, number + message + ", " + request.errorLogContext)
    }

    // MARK: Shutdown

    /// Ends every context and closes the pools (worker exit).
    public func shutdown() {
        isShuttingDown = true
        ffiWorker?.isExiting = true
        // `endContext` is idempotent, so visiting a context once per coroutine is harmless.
        for coroutine in liveEntries.compactMap({ $0 }) + Array(coroutines.values) { endContext(coroutine.context) }
        engine.pools.shutdown()
    }
}

extension LuaWorker {
    /// The worker behind a C function's first upvalue.
    @inline(__always) static func from(_ L: LuaState) -> LuaWorker {
        Unmanaged<LuaWorker>.fromOpaque(lua_touserdata(L, luaUpvalueIndex(1))!).takeUnretainedValue()
    }
}
