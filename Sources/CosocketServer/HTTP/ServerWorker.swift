import CosocketCore
import CosocketLua
import NIOCore

/// One worker: an event loop with its Lua VM and pools, serving the requests its listeners
/// accept, like an nginx worker process.
final class ServerWorker: @unchecked Sendable {
    let lua: LuaWorker
    let configuration: ServerConfiguration
    private var compiled: [LuaSource: Int32] = [:]

    init(lua: LuaWorker, configuration: ServerConfiguration) {
        self.lua = lua
        self.configuration = configuration
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

    /// Serves one request; `respond` gets the serialized response once the handlers are done.
    func handle(_ request: RequestContext, respond: @escaping (RequestContext) -> Void) {
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
            respond(request)
            return
        }
        var phases: [(String, LuaSource)] = []
        if let source = location.rewrite { phases.append(("rewrite", source)) }
        if let source = location.access { phases.append(("access", source)) }
        if let source = location.content { phases.append(("content", source)) }
        guard !phases.isEmpty else {
            request.response.status = 404
            request.exitStatus = 404
            respond(request)
            return
        }
        let context = LuaContext(kind: .request(phase: phases[0].0))
        context.host = request
        context.output = request
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
                request.response.status = 500
                request.exitStatus = 500
            }
            respond(request)
            runLogPhase(request)
        }
        if !startNext() {
            respond(request)
        }
    }

    /// `log_by_lua*` runs after the response has gone out and never delays it.
    private func runLogPhase(_ request: RequestContext) {
        guard let source = request.location.log, let reference = try? compile(source) else { return }
        let context = LuaContext(kind: .request(phase: "log"))
        context.host = request
        lua.start(reference, in: context)
    }
}
