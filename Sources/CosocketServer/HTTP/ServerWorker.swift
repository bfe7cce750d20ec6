import CosocketCore
import CosocketLua
import NIOCore

/// One worker: an event loop with its Lua VM and pools, serving the requests its listeners
/// accept, like an nginx worker process.
final class ServerWorker: @unchecked Sendable {
    let lua: LuaWorker
    let configuration: ServerConfiguration
    /// Whether any `map` is configured: one flag on the path of every variable read.
    let hasMaps: Bool
    /// Where response heads are assembled before they are copied in front of their body.
    var headScratch = ByteBuffer()
    /// The `Date` header's value, formatted once a second.
    var date = HTTPDateCache()
    /// Response buffers handed back after their bytes went to the socket. NIO lets go of one
    /// once written (at once, in the usual case), and `clear()` then reuses its storage: no
    /// allocation per response. One still being written gets new storage on `clear()`.
    private var spareResponseBuffers: [ByteBuffer] = []
    private static let spareResponseBufferLimit = 32
    private static let spareResponseBufferMaximumCapacity = 64 * 1024
    /// Compiled chunks by ``LuaSource/id``, loaded on first use.
    private var compiled: [Int32?]
    /// `*_by_lua_file` functions read at run time, by expanded path.
    var compiledFiles: [String: Int32] = [:]
    /// Open client connections, for graceful shutdown.
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    private var onDrained: (() -> Void)?
    /// Seconds since the worker started, counted by the idle sweep; connections note the tick
    /// of their last activity instead of reading the clock on every read.
    private(set) var tick = 0
    private var idleSweep: RepeatedTask?
    private var reuse = ConnectionReuse()
    private var activityCount: UInt64 = 0
    /// Quit in progress: idle connections get a second, not their timeouts (a reload's
    /// retiring worker keeps the timeouts; see `HTTPConnection.closeWhenIdle`).
    private var hurried = false
    /// The runner of each `listen ... ssl` address's handshake hooks, made on first use.
    var tlsHooks: [ListenAddress: TLSHandshakeLua] = [:]
    /// The runner of `address`'s handshake hooks, if its servers have any.
    func tlsHookRunner(for address: ListenAddress, _ listener: TLSListener) -> TLSHandshakeLua? {
        guard listener.hasHooks else { return nil }
        if let runner = tlsHooks[address] { return runner }
        let runner = TLSHandshakeLua(worker: self, listener: listener)
        tlsHooks[address] = runner
        return runner
    }

    /// How each listening address picks its virtual server.
    var routers: [ListenAddress: ServerNameRouter<VirtualServer>] { configuration.routers }

    /// An empty buffer of at least `minimumCapacity` bytes for a response.
    func takeResponseBuffer(minimumCapacity: Int) -> ByteBuffer {
        guard var buffer = spareResponseBuffers.popLast() else {
            return ByteBufferAllocator().buffer(capacity: minimumCapacity)
        }
        buffer.clear(minimumCapacity: minimumCapacity)
        return buffer
    }

    /// Keeps `buffer` (already handed to the connection) for a later response.
    func recycleResponseBuffer(_ buffer: ByteBuffer) {
        guard spareResponseBuffers.count < Self.spareResponseBufferLimit,
            buffer.capacity <= Self.spareResponseBufferMaximumCapacity
        else { return }
        spareResponseBuffers.append(buffer)
    }

    init(lua: LuaWorker, configuration: ServerConfiguration) {
        self.lua = lua
        self.configuration = configuration
        hasMaps = !configuration.maps.isEmpty
        self.compiled = Array(repeating: nil, count: configuration.luaSourceCount)
    }

    // MARK: Connections

    /// Registers a client connection; `false` when the worker already has
    /// `worker_connections` of them (the connection is then closed, as nginx does).
    func connectionOpened(_ connection: HTTPConnection) -> Bool {
        if connections.count >= configuration.workerConnections { reuseIdleConnections() }
        guard connections.count < configuration.workerConnections else {
            lua.errorLog.log(.alert, "\(configuration.workerConnections) worker_connections are not enough")
            return false
        }
        connections[ObjectIdentifier(connection)] = connection
        return true
    }

    /// Makes room for a new client by closing the connections idle longest (see
    /// ``ConnectionReuse``). They leave the table at once: a transport's close may finish on
    /// a later turn of the loop.
    private func reuseIdleConnections() {
        let idle = connections.values.filter(\.isReusable).map { (stamp: $0.lastActiveStamp, item: $0) }
        guard !idle.isEmpty else { return }
        if reuse.shouldWarn(at: tick) {
            lua.errorLog.log(.warn, "\(configuration.workerConnections) worker_connections are not enough, reusing connections")
        }
        for connection in ConnectionReuse.oldest(idle, count: ConnectionReuse.batchSize(reusable: idle.count)) {
            connections[ObjectIdentifier(connection)] = nil
            connection.closeNow()
        }
    }

    /// A number that grows with every call: connections stamp their last activity with it.
    func activityStamp() -> UInt64 {
        activityCount &+= 1
        return activityCount
    }

    /// Once a second, closes connections that stayed idle for `keepalive_timeout` (to the
    /// second, which is cheaper than a timer per connection or a clock read per request).
    func startIdleSweep() {
        idleSweep = lua.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
            tick += 1
            for connection in connections.values { connection.closeIfIdle(tick: tick, hurried: hurried) }
        }
    }

    private func finishDrain(_ drained: () -> Void) {
        idleSweep?.cancel()
        idleSweep = nil
        drained()
    }

    func connectionClosed(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = nil
        if connections.isEmpty, let drained = onDrained {
            onDrained = nil
            finishDrain(drained)
        }
    }

    /// Fast stop: closes every client connection, then ends the Lua VM (and with it every
    /// request, whose responses go nowhere) and the pools.
    func shutdown() {
        idleSweep?.cancel()
        idleSweep = nil
        for connection in Array(connections.values) { connection.closeNow() }
        lua.shutdown()
    }

    /// Graceful reload or quit: each connection carries one more request at most (see
    /// `HTTPConnection.closeWhenIdle`); `drained` runs when none is left. The sweep goes on and
    /// closes the idle ones, after their timeouts or, `hurried`, after a second.
    func drain(hurried: Bool, _ drained: @escaping () -> Void) {
        self.hurried = hurried
        guard !connections.isEmpty else { return finishDrain(drained) }
        onDrained = drained
        for connection in connections.values { connection.closeWhenIdle() }
    }

    /// Runs `init_by_lua*` and `init_worker_by_lua*` before the worker accepts anything.
    /// Cosockets work here (the reference disables them in these phases).
    ///
    /// An error in `init_by_lua*` stops the start (nginx exits); one in
    /// `init_worker_by_lua*` is logged and the worker goes on, as in the reference. An
    /// `init_by_lua*` that waits on a cosocket and fails later is only logged.
    func runInitPhases(includingWorkerPhase: Bool = true) throws {
        if let source = configuration.initByLua {
            let context = LuaContext(kind: .request(phase: "init"))
            lua.start(try compile(source), in: context)
            if context.isFinished, let failure = context.failure { throw InitByLuaError(message: failure) }
        }
        if includingWorkerPhase, let source = configuration.initWorkerByLua {
            let context = LuaContext(kind: .request(phase: "init_worker"))
            context.logContext = "context: init_worker_by_lua*"
            context.logNumber = ConnectionNumbers.next()
            lua.start(try compile(source), in: context)
        }
    }

    /// `source`'s function, loaded on first use; `request` expands the variables of a file
    /// path read at run time (see ``LuaSource/pathTemplate``).
    func compile(_ source: LuaSource, for request: RequestContext? = nil) throws(HandlerLoadError) -> Int32 {
        if compiled.indices.contains(source.id), let reference = compiled[source.id] { return reference }
        if let template = source.pathTemplate { return try compileFile(template, for: request) }
        let reference: Int32
        do {
            reference = try lua.load(source.code, chunkName: source.chunkName)
        } catch {
            throw source.chunkName.hasPrefix("@")
                ? .file(path: String(source.chunkName.dropFirst()), message: "\(error)")
                : .inline(message: "\(error)")
        }
        if compiled.indices.contains(source.id) { compiled[source.id] = reference }
        return reference
    }

    /// Serves one request: `return`, or the location's Lua phases in one ``LuaContext``
    /// whose delegate is the request. The request tells its connection when it has ended.
    func handle(_ request: RequestContext) {
        if request.noLocation {
            request.response.status = 404
            request.exitStatus = 404
            request.end()
            return
        }
        // Fields are read through the shared `Location`: binding its settings to a local
        // would copy (and retain) every field.
        if request.location.settings.runsScript {
            switch request.runScripts() {
            case .proceed:
                break
            case .failed:
                request.response.status = 500
                request.exitStatus = 500
                request.end()
                return
            case .respond(let code, let text):
                respond(request, code: code, text: text)
                return
            case .redirect(let code, let location):
                redirect(request, code: code, location: location)
                request.end()
                return
            case .jump:
                request.uriJumpPending = true
                guard jump(request) else {
                    request.end()
                    return
                }
            }
        }
        proceed(request)
    }

    /// The request's phases after its rewrite-module scripts: headers-more's input edits,
    /// the access module, then the Lua phases or the static module.
    func proceed(_ request: RequestContext) {
        // Read after the scripts: an `if` block that matched gave the request its settings.
        let location = request.location
        if location.settings.editsInputHeaders { request.applyInputHeaderEdits() }
        // The access module runs before `access_by_lua*` (and, as nginx's access phase, not for
        // subrequests).
        if location.settings.checksAccess && !request.isSubrequest && !request.passesAccessRules() {
            request.response.status = 403
            request.exitStatus = 403
            request.end()
            return
        }
        guard let first = location.settings.phases.first else {
            if location.settings.hasTryFiles, !request.triedFiles, let tryFiles = location.settings.tryFiles {
                switch request.runTryFiles(tryFiles) {
                case .found: break
                case .ended: return request.end()
                case .redirect: return jump(request) ? proceed(request) : request.end()
                }
            }
            request.serveStaticFile()
            request.end()
            return
        }
        let context = lua.makeContext(kind: .request(phase: first.name))
        context.request = request
        context.output = request
        context.delegate = request
        context.checksClientAbort = location.settings.checkClientAbort
        context.socketDefaults = location.settings.socketDefaults
        if let runContext = request.runContext { context.adoptCtx(of: runContext) }
        request.luaContext = context
        if !startNextPhase(of: request, in: context) { request.end() }
    }

    /// `return code [text]`: a redirect's text is its `Location`, another code's its body;
    /// without text, a code of 300 or more gets nginx's error page.
    private func respond(_ request: RequestContext, code: Int, text: String?) {
        applyReturn(request, code: code, text: text)
        request.end()
    }

    private func applyReturn(_ request: RequestContext, code: Int, text: String?) {
        request.response.status = code
        if let template = text {
            let text = VariableTemplate.expand(template, request.scriptVariable)
            if (301...308).contains(code) {
                request.response.set("Location", [request.redirectLocation(text)])
                request.exitStatus = code
            } else {
                request.writeText(text)
            }
        } else if code >= 300 {
            request.exitStatus = code
        }
    }

    /// Starts the request's next phase handler; `false` when there is none left (or it
    /// failed to load, which makes the response a 500).
    func startNextPhase(of request: RequestContext, in context: LuaContext) -> Bool {
        if request.uriJumpPending {
            // A jump to another location destroys `ngx.ctx`, after `ngx.exec` and
            // `ngx.req.set_uri(uri, true)` alike (the reference's new location starts with
            // an empty table).
            lua.clearCtx(of: context)
            if !jump(request) { return false }
        }
        let phases = request.location.settings.phases
        // nginx's access phase skips subrequests.
        while request.isSubrequest, request.nextPhase < phases.count, phases[request.nextPhase].name == "access" {
            request.nextPhase += 1
        }
        // `try_files` runs between the access and the content phase.
        if request.location.settings.hasTryFiles, !request.triedFiles, let tryFiles = request.location.settings.tryFiles,
           request.nextPhase == phases.count || phases[request.nextPhase].name == "content" {
            switch request.runTryFiles(tryFiles) {
            case .found: break
            case .ended: return false
            case .redirect: return startNextPhase(of: request, in: context)
            }
        }
        guard request.nextPhase < phases.count else {
            // No content handler after the rewrite and access phases: nginx's static module.
            if request.location.settings.servesStaticFiles && request.exitStatus == nil && !request.luaWroteOutput {
                request.serveStaticFile()
            }
            return false
        }
        let phase = phases[request.nextPhase]
        request.nextPhase += 1
        context.kind = .request(phase: phase.name)
        do {
            lua.start(try compile(phase.source, for: request), in: context)
        } catch {
            request.logError("\(error)")
            request.response.status = error.status
            request.exitStatus = error.status
            return false
        }
        return true
    }

    /// `ngx.req.set_uri(uri, true)` ended a rewrite handler: the request moves to its new
    /// URI's location, whose rewrite-module script runs before its phases (as after nginx's
    /// `rewrite ... last`). `false` when it ends there instead (no location, a cycle, a
    /// `return`, a failed script).
    func jump(_ request: RequestContext) -> Bool {
        // After `ngx.exec` to a URI the server's script runs again (nginx's internal
        // redirect restarts at the server rewrite phase).
        if case .uri? = request.pendingRedirect, !request.location.settings.serverScript.isEmpty {
            switch RewriteScript.run(request.location.settings.serverScript, on: request) {
            case .proceed, .jump:
                break
            case .failed:
                request.pendingRedirect = nil
                request.response.status = 500
                request.exitStatus = 500
                return false
            case .respond(let code, let text):
                request.pendingRedirect = nil
                applyReturn(request, code: code, text: text)
                return false
            case .redirect(let code, let location):
                request.pendingRedirect = nil
                redirect(request, code: code, location: location)
                return false
            }
        }
        while true {
            if let status = request.takeJump() {
                request.response.status = status
                request.exitStatus = status
                return false
            }
            guard request.location.settings.runsScript else { return true }
            switch RewriteScript.run(request.location.settings.script, on: request) {
            case .proceed:
                return true
            case .jump:
                // The new location rewrote again: look once more (takeJump counts the cycles).
                continue
            case .failed:
                request.response.status = 500
                request.exitStatus = 500
            case .respond(let code, let text):
                applyReturn(request, code: code, text: text)
            case .redirect(let code, let location):
                redirect(request, code: code, location: location)
            }
            return false
        }
    }

    /// A `rewrite` redirect: nginx's page for `code`, with the Location made absolute as a
    /// `return`'s is.
    func redirect(_ request: RequestContext, code: Int, location: String) {
        request.response.status = code
        request.response.set("Location", [request.redirectLocation(location)])
        request.exitStatus = code
    }

    /// Runs a `set_by_lua*` or filter handler of `request` to its end (see
    /// ``LuaWorker/runToEnd(_:in:argument:wantsResult:)``), in the request's run context,
    /// sharing `ngx.ctx` with its phases.
    func runToEnd(_ source: LuaSource, phase: String, for request: RequestContext, wantsResult: Bool = false) -> LuaWorker.RunOutcome {
        let reference: Int32
        do {
            reference = try compile(source, for: request)
        } catch {
            request.logError("\(error)")
            return .failed("\(error)")
        }
        let context = runContext(of: request, phase: phase)
        return context.borrowingCtx(of: request.luaContext) {
            lua.runToEnd(reference, in: context, wantsResult: wantsResult)
        }
    }

    /// The context `request`'s `set_by_lua*` and filters run to their end in (made on first use).
    func runContext(of request: RequestContext, phase: String) -> LuaContext {
        let context: LuaContext
        if let existing = request.runContext {
            context = existing
        } else {
            context = LuaContext(kind: .request(phase: phase))
            context.request = request
            request.runContext = context
        }
        context.kind = .request(phase: phase)
        return context
    }

    /// The context `request`'s filters run in when they may wait (`lua_filter_yield on`),
    /// sharing the request's `ngx.ctx`; the request hears each run's end as a phase's.
    func makeFilterContext(for request: RequestContext) -> LuaContext {
        let context = lua.makeContext(kind: .request(phase: "header_filter"))
        lua.installNgxArg()
        context.request = request
        context.delegate = request
        context.reportsFailureAsRun = true
        // While the request's phases run, their `ngx.ctx` is used in place; once they have
        // ended (their context lets go of the table as it ends), this context keeps it, for
        // the filters and `log_by_lua*` (see ``RequestContext/end()``).
        if let main = request.luaContext {
            if main.isFinished { context.adoptCtx(of: main) } else { context.ctxOwner = main }
        }
        return context
    }

    /// Starts one filter run in `context`; `false` when its code failed to load.
    func startFilter(_ source: LuaSource, phase: String, in context: LuaContext) -> Bool {
        let reference: Int32
        let request = context.request as? RequestContext
        do {
            reference = try compile(source, for: request)
        } catch {
            if let request { request.logError("\(error)") } else { lua.errorLog.log(.error, "\(error)") }
            return false
        }
        context.kind = .request(phase: phase)
        lua.start(reference, in: context)
        return true
    }

    /// `log_by_lua*` runs after the response has gone out and never delays it.
    /// It shares the request's `ngx.ctx` (taken over from `requestContext`).
    /// (Or, once that has let go of it, the filters' context's, then the run context's.)
    func runLogPhase(_ request: RequestContext, after requestContext: LuaContext?, _ filterContext: LuaContext? = nil) {
        guard let source = request.location.settings.log else { return }
        let reference: Int32
        do {
            reference = try compile(source, for: request)
        } catch {
            return request.logError("\(error) while logging request")
        }
        let context = lua.makeContext(kind: .request(phase: "log"))
        if let requestContext { context.adoptCtx(of: requestContext) }
        if let filterContext { context.adoptCtx(of: filterContext) }
        if let runContext = request.runContext { context.adoptCtx(of: runContext) }
        context.request = request
        context.socketDefaults = request.location.settings.socketDefaults
        // The reference's words for a failing log phase: "failed to run log_by_lua*: ...".
        context.reportsFailureAsRun = true
        lua.start(reference, in: context)
    }
}

/// `init_by_lua*` raised: nginx's `init_by_lua error: ...`, which ends its start.
public struct InitByLuaError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "init_by_lua error: \(message)" }
}
