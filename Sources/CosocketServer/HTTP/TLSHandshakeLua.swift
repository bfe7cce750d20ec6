#if os(Linux)
import CosocketCore
import CosocketLua
import Glibc

/// Runs the `ssl_*_by_lua*` hooks of one `listen ... ssl` address on its worker: each run is
/// a ``LuaContext`` of its own (the reference's fake request), whose code may wait on
/// cosockets, timers and light threads (except the session store's) while the handshake is
/// paused. One per worker and address, shared by the address's connections.
final class TLSHandshakeLua: TLSServerHooks {
    private unowned let worker: ServerWorker
    private let listener: TLSListener

    init(worker: ServerWorker, listener: TLSListener) {
        self.worker = worker
        self.listener = listener
    }

    func run(_ point: TLSHookPoint, for handshake: TLSServerHandshake) -> TLSHookOutcome {
        let source: LuaSource?
        let phase: String
        switch point {
        case .clientHello:
            // Before SNI: the default server's, as nginx runs it.
            source = listener.hooks(of: listener.defaultContext).clientHello
            phase = "ssl_client_hello"
        case .sessionFetch:
            source = worker.configuration.sslSessionFetch
            phase = "ssl_session_fetch"
        case .certificate:
            source = listener.hooks(of: handshake.current).certificate
            phase = "ssl_cert"
        }
        guard let source else { return .proceed }
        let reference: Int32
        do {
            reference = try worker.compile(source)
        } catch {
            worker.lua.errorLog.log(.error, "failed to load \(source.chunkName): \(error)")
            return .fail
        }
        let context = makeContext(phase: phase, for: handshake)
        let run = TLSHookRun(handshake: handshake, lua: worker.lua)
        context.delegate = run
        // A client that leaves while the code waits ends the run (its sockets close), from
        // the loop rather than inside the connection's close.
        handshake.onAbandon = { [weak context, worker] in
            guard let context else { return }
            worker.lua.engine.execute { worker.lua.cancel(context) }
        }
        worker.lua.start(reference, in: context)
        if let ok = run.outcome {
            handshake.onAbandon = nil
            return ok ? .proceed : .fail
        }
        run.isWaiting = true
        return .pending
    }

    /// `ssl_session_store_by_lua*`: run to its end inside OpenSSL's callback, which cannot
    /// wait (the reference refuses waiting there too; a timer can carry the work on).
    func storeSession(for handshake: TLSServerHandshake) {
        guard let source = worker.configuration.sslSessionStore, let reference = try? worker.compile(source) else { return }
        let context = makeContext(phase: "ssl_session_store", for: handshake)
        _ = worker.lua.runToEnd(reference, in: context)
    }

    private func makeContext(phase: String, for handshake: TLSServerHandshake) -> LuaContext {
        let context = worker.lua.makeContext(kind: .request(phase: phase))
        context.tlsHandshake = handshake
        context.logContext = "context: \(context.disabledContextName), client: \(Self.text(handshake.rawAddress(local: false)))"
            + ", server: \(Self.text(handshake.rawAddress(local: true), withPort: true))"
        return context
    }

    /// An address as nginx prints it in log lines (`127.0.0.1`, `[::1]:443`, `unix:/path`).
    static func text(_ address: (bytes: [UInt8], type: Int32, port: UInt16)?, withPort: Bool = false) -> String {
        guard let address else { return "" }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch address.type {
        case 1, 2:
            let family = address.type == 1 ? AF_INET : AF_INET6
            _ = address.bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
            let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard withPort else { return host }
            return address.type == 1 ? "\(host):\(address.port)" : "[\(host)]:\(address.port)"
        default:
            return "unix:" + String(decoding: address.bytes, as: UTF8.self)
        }
    }
}

/// One waiting hook run: how it ended, told to the handshake once it has (a run that ended
/// at once answers OpenSSL's callback directly instead).
private final class TLSHookRun: LuaContextDelegate {
    private weak var handshake: TLSServerHandshake?
    private unowned let lua: LuaWorker
    /// Whether the run succeeded, once it has ended.
    private(set) var outcome: Bool?
    /// The handshake paused for it.
    var isWaiting = false

    init(handshake: TLSServerHandshake, lua: LuaWorker) {
        self.handshake = handshake
        self.lua = lua
    }

    func luaContextPhaseEnded(_ context: LuaContext) -> Bool { false }

    func luaContextFinished(_ context: LuaContext) {
        // A Lua error, `ngx.exit(ngx.ERROR)` or an HTTP error status abort the handshake, as
        // lua-nginx-module's hooks do; `ngx.exit(ngx.OK)` and returning go on.
        let status = context.exitStatus ?? 0
        let ok = context.failure == nil && status >= 0 && status < 300
        outcome = ok
        guard isWaiting, let handshake else { return }
        handshake.onAbandon = nil
        // The handshake goes on outside the scheduler's bookkeeping of this context (it may
        // start the next hook's run).
        lua.engine.execute { handshake.hookFinished(ok: ok) }
    }
}
#endif
