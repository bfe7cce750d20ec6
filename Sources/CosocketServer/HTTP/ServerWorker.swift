import CosocketCore
import CosocketLua
import NIOCore

/// One worker: an event loop with its Lua VM and pools, serving the requests its listeners
/// accept, like an nginx worker process.
final class ServerWorker: @unchecked Sendable {
    let lua: LuaWorker
    let configuration: ServerConfiguration
    private var compiled: [LuaSource: Int32] = [:]
    /// Open client connections, for graceful shutdown.
    private var connections: [ObjectIdentifier: HTTPConnectionHandler] = [:]
    private var onDrained: (() -> Void)?
    /// The virtual server behind each listening address.
    let servers: [ListenAddress: VirtualServer]

    init(lua: LuaWorker, configuration: ServerConfiguration) {
        self.lua = lua
        self.configuration = configuration
        var servers: [ListenAddress: VirtualServer] = [:]
        // The first server listening on an address is its default server, as in nginx.
        for server in configuration.servers {
            for address in server.listen where servers[address] == nil { servers[address] = server }
        }
        self.servers = servers
    }

    // MARK: Connections

    func connectionOpened(_ connection: HTTPConnectionHandler) {
        connections[ObjectIdentifier(connection)] = connection
    }

    func connectionClosed(_ connection: HTTPConnectionHandler) {
        connections[ObjectIdentifier(connection)] = nil
        if connections.isEmpty, let drained = onDrained {
            onDrained = nil
            drained()
        }
    }

    /// Graceful quit: idle connections close now, busy ones once their request has ended;
    /// `drained` runs when none is left.
    func drain(_ drained: @escaping () -> Void) {
        guard !connections.isEmpty else { return drained() }
        onDrained = drained
        for connection in connections.values { connection.closeWhenIdle() }
    }

    /// Runs `init_by_lua*` and `init_worker_by_lua*` before the worker accepts anything.
    /// Cosockets work here (the reference disables them in these phases).
    func runInitPhases() throws {
        for source in [configuration.initByLua, configuration.initWorkerByLua].compactMap({ $0 }) {
            let reference = try compile(source)
            let context = LuaContext(kind: .request(phase: source.chunkName.contains("init_worker") ? "init_worker" : "init"))
            lua.start(reference, in: context)
        }
    }

    private func compile(_ source: LuaSource) throws -> Int32 {
        if let reference = compiled[source] { return reference }
        let reference = try lua.load(source.code, chunkName: source.chunkName)
        compiled[source] = reference
        return reference
    }

    /// Serves one request; `done` runs once its handlers (and their light threads) have ended
    /// and its response has gone out.
    func handle(_ request: RequestContext, done: @escaping (RequestContext) -> Void) {
        let location = request.location
        if let returned = location.returnStatus {
            request.response.status = returned.code
            if let text = returned.text {
                if (301...308).contains(returned.code) {
                    request.response.set("Location", [text])
                    request.exitStatus = returned.code
                } else {
                    request.responseBody.writeString(text)
                }
            } else if returned.code >= 300 {
                request.exitStatus = returned.code
            }
            request.finishResponse()
            done(request)
            return
        }
        var phases: [(String, LuaSource)] = []
        if let source = location.rewrite { phases.append(("rewrite", source)) }
        if let source = location.access { phases.append(("access", source)) }
        if let source = location.content { phases.append(("content", source)) }
        guard !phases.isEmpty else {
            request.response.status = 404
            request.exitStatus = 404
            request.finishResponse()
            done(request)
            return
        }
        let context = LuaContext(kind: .request(phase: phases[0].0))
        context.host = request
        context.output = request
        context.checksClientAbort = location.checkClientAbort
        request.luaContext = context
        var next = 0
        func startNext() -> Bool {
            guard next < phases.count else { return false }
            let (phase, source) = phases[next]
            next += 1
            context.kind = .request(phase: phase)
            do {
                lua.start(try compile(source), in: context)
            } catch {
                lua.errorLog.log(.error, "failed to load \(source.chunkName): \(error)")
                request.response.status = 500
                request.exitStatus = 500
                return false
            }
            return true
        }
        context.onPhaseEnd = { _ in startNext() }
        context.onFinish = { [self] context in
            if context.failure != nil {
                if request.headersSent {
                    request.abandonResponse()
                } else {
                    request.response.status = 500
                    request.exitStatus = 500
                }
            }
            // 444 closes the connection without a response; 499 means the client is gone.
            if context.exitStatus == 444 || context.exitStatus == 499 { request.abandonResponse() }
            request.finishResponse()
            done(request)
            runLogPhase(request, after: context)
        }
        if !startNext() {
            request.finishResponse()
            done(request)
        }
    }

    /// `log_by_lua*` runs after the response has gone out and never delays it.
    private func runLogPhase(_ request: RequestContext, after requestContext: LuaContext) {
        guard let source = request.location.log, let reference = try? compile(source) else { return }
        let context = LuaContext(kind: .request(phase: "log"))
        context.adoptCtx(of: requestContext)
        context.host = request
        lua.start(reference, in: context)
    }
}
