import CosocketCore
import CosocketLua
import Dispatch
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The nginx-style host: `worker_processes` event loops, each with its own Lua VM, pools and
/// listening sockets (SO_REUSEPORT lets the kernel spread connections over them).
///
/// Control (start, reload, quit, stop) runs on the caller's thread, one operation at a time;
/// everything a worker owns is touched only on its loop.
public final class HTTPServer: @unchecked Sendable {
    public private(set) var configuration: ServerConfiguration
    private let group: CosocketEventLoopGroup
    private let loops: [EventLoop]
    private let errorLog: any LuaErrorLog
    /// The worker each loop hands new connections to; swapped by `reload`.
    private let slots: [WorkerSlot]
    /// Per address, one listening channel per loop.
    private var listeners: [ListenAddress: [any ServerListener]] = [:]
    private let stopped = DispatchSemaphore(value: 0)
    /// The `lua_shared_dict` zones, kept across reloads.
    private let sharedDictZones = SharedDictZones()
    private var isStopped = false

    /// The worker a loop's listeners currently serve with; read and written on that loop.
    private final class WorkerSlot: @unchecked Sendable {
        var worker: ServerWorker?
        /// Workers shut down before they served, until their loop lets go of them.
        var discarded: [ServerWorker] = []
    }

    public convenience init(configuration: ServerConfiguration, errorLog: any LuaErrorLog) {
        self.init(configuration: configuration, errorLog: errorLog, readinessSets: true)
    }

    /// `readinessSets: false` keeps client and upstream connections on NIO channels, as on
    /// loops where the readiness set cannot be installed (for tests of that fallback).
    init(configuration: ServerConfiguration, errorLog: any LuaErrorLog, readinessSets: Bool) {
        self.configuration = configuration
        self.errorLog = errorLog
        self.group = CosocketEventLoopGroup(numberOfThreads: max(1, configuration.workerProcesses), readinessSets: readinessSets)
        self.loops = Array(group.group.makeIterator())
        self.slots = loops.map { _ in WorkerSlot() }
    }

    /// Creates the workers, runs their init phases, and starts listening.
    public func start() throws {
        if group.readinessSetsUnavailable {
            errorLog.log(.warn, "the engine's readiness set could not be nested in the event loop's epoll set (no /proc/self/fdinfo?): connections use NIO channels")
        }
        configuration.lua.sharedDictZones = try sharedDictZones.attach(configuration.lua.sharedDicts)
        for (index, loop) in loops.enumerated() {
            let worker = try makeWorker(on: loop, id: index, configuration: configuration)
            try loop.submit { self.slots[index].worker = worker }.wait()
        }
        try bindListeners(for: configuration)
    }

    /// Blocks until `quit` or `stop` has finished.
    public func wait() {
        stopped.wait()
        stopped.signal()
    }

    /// nginx's `reload` (SIGHUP): starts workers on `newConfiguration` and hands them new
    /// connections; the old workers finish the requests they have, then end. Requests are
    /// not dropped: the listening sockets stay open throughout. If the new configuration's
    /// workers fail to start, the old ones carry on. (`worker_processes` changes need a restart.)
    public func reload(_ newConfiguration: ServerConfiguration) throws {
        var newConfiguration = newConfiguration
        newConfiguration.lua.sharedDictZones = try sharedDictZones.attach(newConfiguration.lua.sharedDicts)
        var fresh: [ServerWorker] = []
        do {
            for (index, loop) in loops.enumerated() {
                fresh.append(try makeWorker(on: loop, id: index, configuration: newConfiguration))
            }
            // New addresses are bound before anything is swapped, so that a port in use
            // leaves the old configuration serving. (Until the swap, the old workers answer
            // connections on them by closing: they have no server there.)
            try bindListeners(for: newConfiguration)
        } catch {
            discard(&fresh)
            throw error
        }
        // The swap and the old worker's retirement happen on its loop: this thread must never
        // hold a worker's last reference, whose release ends its Lua VM and loop-confined
        // sockets.
        for (index, (loop, worker)) in zip(loops, fresh).enumerated() {
            try loop.submit {
                let old = self.slots[index].worker
                self.slots[index].worker = worker
                if let old { self.retire(old, hurried: false, afterwards: nil) }
            }.wait()
        }
        configuration = newConfiguration
        let wanted = Set(newConfiguration.servers.flatMap(\.listen))
        for (address, bound) in listeners where !wanted.contains(address) {
            for listener in bound { listener.close() }
            listeners[address] = nil
        }
    }

    /// Shuts down workers that never served, and lets go of them on their loops.
    private func discard(_ workers: inout [ServerWorker]) {
        for (index, worker) in workers.enumerated() {
            let slot = slots[index]
            try? loops[index].submit {
                worker.shutdown()
                slot.discarded.append(worker)
            }.wait()
        }
        workers.removeAll()
        for (slot, loop) in zip(slots, loops) { loop.execute { slot.discarded.removeAll() } }
    }

    /// nginx's `quit` (SIGQUIT): stops accepting, lets the requests in progress finish, then
    /// ends the workers.
    public func quit() {
        closeListeners()
        let finished = DispatchGroup()
        for (slot, loop) in zip(slots, loops) {
            finished.enter()
            loop.execute {
                guard let worker = slot.worker else { return finished.leave() }
                slot.worker = nil
                self.retire(worker, hurried: true) { finished.leave() }
            }
        }
        finished.wait()
        finish()
    }

    /// nginx's `stop` (SIGTERM): closes everything at once.
    public func stop() {
        closeListeners()
        for (slot, loop) in zip(slots, loops) {
            try? loop.submit {
                slot.worker?.shutdown()
                slot.worker = nil
            }.wait()
        }
        finish()
    }

    /// Stops the server at once (tests and embedders); same as ``stop()``.
    public func shutdown() throws {
        stop()
    }

    /// The ports actually bound (useful when a configuration listens on port 0 in tests).
    public var boundPorts: [Int] {
        listeners.values.flatMap { $0 }.compactMap(\.port)
    }

    // MARK: Workers and listeners

    /// What `nginx -t` does besides parsing: runs `init_by_lua*` once (in a worker that then
    /// ends without serving), so its errors fail the test.
    public func checkInitPhase() throws {
        guard configuration.initByLua != nil, let loop = loops.first else { return }
        configuration.lua.sharedDictZones = try sharedDictZones.attach(configuration.lua.sharedDicts)
        let configuration = self.configuration
        try loop.submit { () throws in
            let engine = CosocketEngine(eventLoop: loop, configuration: configuration.engine)
            CosocketEngine.register(engine)
            let lua = try LuaWorker(engine: engine, workerID: 0, configuration: configuration.lua, errorLog: self.errorLog)
            defer { lua.shutdown() }
            try ServerWorker(lua: lua, configuration: configuration).runInitPhases(includingWorkerPhase: false)
        }.wait()
    }

    private func makeWorker(on loop: EventLoop, id: Int, configuration: ServerConfiguration) throws -> ServerWorker {
        try loop.submit { () throws -> ServerWorker in
            let engine = CosocketEngine(eventLoop: loop, configuration: configuration.engine)
            CosocketEngine.register(engine)
            let lua = try LuaWorker(engine: engine, workerID: id, configuration: configuration.lua, errorLog: self.errorLog)
            let worker = ServerWorker(lua: lua, configuration: configuration)
            try worker.runInitPhases()
            worker.startIdleSweep()
            return worker
        }.wait()
    }

    /// On the worker's loop: closes its connections once idle, then ends its Lua VM and pools.
    private func retire(_ worker: ServerWorker, hurried: Bool, afterwards: (() -> Void)?) {
        worker.lua.eventLoop.execute {
            worker.drain(hurried: hurried) {
                worker.lua.shutdown()
                afterwards?()
            }
        }
    }

    /// Binds the addresses not bound yet: all of them, or (closing what it bound) none.
    private func bindListeners(for configuration: ServerConfiguration) throws {
        var bound: [ListenAddress: [any ServerListener]] = [:]
        do {
            for address in Set(configuration.servers.flatMap(\.listen)) where listeners[address] == nil {
                // nginx removes a stale socket file before it binds (and after it stops).
                if let path = address.unixPath { unlink(path) }
                let backlog = configuration.listenBacklogs[address] ?? ServerListenerDefaults.backlog
                for (index, loop) in loops.enumerated() {
                    let slot = slots[index]
                    let listener = try makeListener(address, backlog: backlog, on: loop, group: group, sharing: bound[address]?.first) {
                        slot.worker
                    }
                    if let listener { bound[address, default: []].append(listener) }
                }
            }
        } catch {
            for listener in bound.values.joined() { listener.close() }
            for address in bound.keys { if let path = address.unixPath { unlink(path) } }
            throw error
        }
        listeners.merge(bound) { old, _ in old }
    }

    private func closeListeners() {
        for bound in listeners.values {
            for listener in bound { listener.close() }
        }
        for address in listeners.keys { if let path = address.unixPath { unlink(path) } }
        listeners = [:]
    }

    private func finish() {
        guard !isStopped else { return }
        isStopped = true
        try? group.syncShutdownGracefully()
        stopped.signal()
    }
}
