import CLuaJIT
import CosocketCore
import NIOCore

/// Where `ngx.say` and `ngx.print` write; absent in contexts that have no response (timers).
public protocol LuaOutput: AnyObject {
    /// Appends to the response body; `false` once `ngx.eof` has ended the output.
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// `ngx.flush`: sends what was written so far (and the headers, if not sent yet).
    /// With `whenWritten`, the answer may be `.pending`, and `whenWritten` runs once the bytes
    /// are out (`ngx.flush(true)`).
    func flush(whenWritten: (() -> Void)?) -> LuaFlushResult
    /// `ngx.send_headers`.
    func sendHeaders()
    /// The response head has been written out.
    var headersSent: Bool { get }
    /// Lua code wrote part of the body (the reference sends the head with the first output).
    var luaWroteOutput: Bool { get }
    /// A HEAD request: once its head is out, output calls answer "header only".
    var isHeadRequest: Bool { get }
    /// `ngx.eof`: ends the response; `false` when it had already ended.
    func endOutput() -> Bool
}

/// What ``LuaOutput/flush(whenWritten:)`` did.
public enum LuaFlushResult: Sendable {
    case done
    /// The bytes are on their way; `whenWritten` will run.
    case pending
    /// `ngx.eof` ended the output before.
    case ended
}

/// What the host hears about a context's progress.
public protocol LuaContextDelegate: AnyObject {
    /// A phase's threads have all ended; returning `true` means the host started the next
    /// phase in this context (request phases share `ngx.ctx` and sockets).
    func luaContextPhaseEnded(_ context: LuaContext) -> Bool
    /// Called once, when the entry thread and every light thread have ended.
    func luaContextFinished(_ context: LuaContext)
}

/// One unit of Lua work with its own lifetime: a request, a timer, or a script run.
///
/// It owns its coroutines (the entry thread and its light threads) and the cosockets they
/// created; when the last coroutine ends, sockets that were not pooled are closed, as the
/// reference does when a request or timer finishes.
public final class LuaContext {
    public enum Kind: Sendable {
        case script
        case timer
        case request(phase: String)
    }

    public var kind: Kind
    /// Released, like `request`, once the context has ended and its last entry thread is gone.
    public var output: (any LuaOutput)?
    /// The HTTP request behind `ngx.var`, `ngx.req`, `ngx.header` and `ngx.exit`, if any.
    public var request: (any LuaRequestHost)?
    /// Released when the context ends (the host usually holds the context too).
    public var delegate: (any LuaContextDelegate)?
    /// The status passed to `ngx.exit`, if any.
    public internal(set) var exitStatus: Int?
    /// The error that ended the entry thread, if any.
    public internal(set) var failure: String?
    public internal(set) var isFinished = false

    /// The entry thread of the running phase (one at a time), kept apart from the light
    /// threads so that a context without any costs no array.
    var liveEntry: LuaCoroutine?
    /// Light threads still running (and any further entry thread, which phases never start).
    var liveOthers: [LuaCoroutine] = []
    var hasLiveCoroutines: Bool { liveEntry != nil || !liveOthers.isEmpty }
    /// Light threads that ended, kept for `ngx.thread.wait` until the context ends.
    var finishedThreads: [LuaCoroutine] = []
    /// This context's number in its worker (set when it starts): sockets remember it, so that
    /// one used from another request is refused even after its own request has ended.
    var serial: UInt64 = 0
    /// The cosockets that connected in it: when it ends, those still tracked are closed
    /// (unless pooled), and all of them forget it. The first is kept apart (most requests use
    /// one), so that a context costs no array for it.
    var firstSocket: LuaSocket?
    var moreSockets: [LuaSocket] = []
    /// The datagram sockets associated in it, closed when it ends.
    var datagramSockets: [LuaUDPSocket] = []

    func track(_ socket: LuaSocket) {
        if firstSocket == nil { firstSocket = socket } else { moreSockets.append(socket) }
    }
    /// Registry reference of the `ngx.ctx` table, created on first use.
    var ctxReference: Int32 = LUA_NOREF
    /// `lua_check_client_abort`: whether `ngx.on_abort` may register a handler.
    public var checksClientAbort = false
    /// The `lua_socket_*` settings of the request's location (nginx merges them per
    /// location); `nil` takes the worker's (http-level) ones, as timers do.
    public var socketDefaults: EngineConfiguration?
    /// Runs to its end at once (`set_by_lua*`, the output filters): waiting is refused.
    public internal(set) var runsToEnd = false
    /// `body_filter_by_lua*`'s chunk (`ngx.arg[1]`) and eof flag (`ngx.arg[2]`), and
    /// `set_by_lua*`'s arguments (`ngx.arg[n]`).
    public var filterChunk = ByteBuffer()
    public var filterEOF = false
    public var filterArguments: [String] = []
    /// An entry thread's error is logged as the reference logs a filter's
    /// (`failed to run header_filter_by_lua*: ...`).
    public var reportsFailureAsRun = false
    /// The context whose `ngx.ctx` this one reads and writes (a waiting filter's: the request's
    /// phases'), so that sharing costs nothing until the table is used.
    public var ctxOwner: LuaContext?
    var ctxHolder: LuaContext { ctxOwner ?? self }
    /// Registry reference of the `ngx.on_abort` function.
    var abortHandlerReference: Int32 = LUA_NOREF
    #if os(Linux)
    /// The handshake an `ssl_*_by_lua*` hook runs in (what `ngx.ssl` acts on).
    public var tlsHandshake: TLSServerHandshake?
    #endif
    /// What error-log lines of a context without a request end with (nginx's
    /// `context: ssl_certificate_by_lua*, client: ..., server: ...`).
    public var logContext: String?
    /// A timer context's `client: ..., server: ...` (from the request that made the timer,
    /// or the timer that made it), which timers it makes inherit.
    var timerOrigin: String?
    /// The `*N` of a timer run's or `init_worker_by_lua*`'s fake connection (0: none).
    public var logNumber = 0

    public init(kind: Kind) {
        self.kind = kind
    }

    /// Readies a context that ended, and that nothing holds any more, for another run. Ending
    /// it already emptied its coroutine and socket lists and released its registry references
    /// and its host objects.
    func prepareForReuse() {
        assert(liveEntry == nil && liveOthers.isEmpty && finishedThreads.isEmpty && firstSocket == nil && moreSockets.isEmpty)
        assert(ctxReference == LUA_NOREF && abortHandlerReference == LUA_NOREF)
        output = nil
        request = nil
        delegate = nil
        exitStatus = nil
        failure = nil
        isFinished = false
        serial = 0
        checksClientAbort = false
        socketDefaults = nil
        runsToEnd = false
        filterChunk = ByteBuffer()
        filterEOF = false
        filterArguments = []
        reportsFailureAsRun = false
        ctxOwner = nil
        #if os(Linux)
        tlsHandshake = nil
        #endif
        logContext = nil
        timerOrigin = nil
        logNumber = 0
    }

    /// Takes over `other`'s `ngx.ctx` table: the log phase runs in a context of its own after
    /// the request's has ended, but sees the request's `ngx.ctx`, as in the reference.
    public func adoptCtx(of other: LuaContext) {
        guard ctxReference == LUA_NOREF else { return }
        ctxReference = other.ctxReference
        other.ctxReference = LUA_NOREF
    }

    /// A subrequest's `ctx` option: `reference` (a registry reference this context now owns
    /// and releases when it ends) is its `ngx.ctx`.
    public func setCtx(reference: Int32) {
        guard ctxReference == LUA_NOREF else { return }
        ctxReference = reference
    }

    /// The name `ngx.get_phase()` returns.
    public var phaseName: String {
        switch kind {
        case .script: return "content"
        case .timer: return "timer"
        case .request(let phase): return phase
        }
    }

    /// Where `ngx.exit` may end the phase or the request (ngx_http_lua_ffi_exit's context mask):
    /// not in `set_by_lua*`, the body filter, the log phase or the init phases.
    var allowsExit: Bool {
        switch phaseName {
        case "rewrite", "access", "content", "timer", "header_filter", "balancer", "ssl_client_hello", "ssl_cert",
            "ssl_session_store", "ssl_session_fetch":
            return true
        default:
            return false
        }
    }

    /// `ngx.headers_sent` as the reference answers it: the head went out, or Lua wrote output
    /// (the reference sends the head with the first output, where the host here may buffer
    /// it) — except in the header filter, which runs before the head goes out.
    var headersSentForLua: Bool {
        // The filters run without an output of their own; the request is theirs.
        guard let output = output ?? request as? any LuaOutput else { return false }
        if output.headersSent { return true }
        if case .request("header_filter") = kind { return false }
        return output.luaWroteOutput
    }

    /// The filters and the log phase run once the head is decided: `ngx.status` reads what it
    /// is (nginx's 200 by then), not the content phases' 0 for a status never set.
    var readsSetStatus: Bool {
        switch phaseName {
        case "header_filter", "body_filter", "log": return true
        default: return false
        }
    }

    /// The words of "API disabled in the context of ..." errors (and of `context:` in log lines).
    public var disabledContextName: String {
        switch kind {
        case .timer: return "ngx.timer"
        case .script: return "script"
        // The certificate hook's phase is `ssl_cert`; its directive's name is longer.
        case .request(let phase): return phase == "ssl_cert" ? "ssl_certificate_by_lua*" : "\(phase)_by_lua*"
        }
    }
}
