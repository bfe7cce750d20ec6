import CLuaJIT
import CosocketCore
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Swift side of one Lua cosocket object (`ngx.socket.tcp()`): it owns the engine socket,
/// remembers which coroutine waits for which operation, and turns engine results into the
/// reference's Lua return values.
final class LuaSocket: StreamSocketDelegate {
    let stream: StreamSocket
    unowned let worker: LuaWorker
    /// The request, timer or script the socket belongs to (set by `connect`), until it ends.
    /// Not retained, and not weak (a weak reference would give every context a side table,
    /// making each of its retains several times dearer): the context lists every socket that
    /// connected in it and clears this when it ends.
    var context: LuaContext? {
        get {
            contextCheck.verify()
            return uncheckedContext
        }
        set {
            uncheckedContext = newValue
            contextCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedContext: LuaContext?
    /// Debug builds: asserts that the object is alive whenever `context` is read.
    private var contextCheck = UnownedReferenceCheck()
    /// The ``LuaContext/serial`` of the request, timer or script that connected it (0: none).
    /// It outlives that context: as in the reference, the socket stays that request's.
    var contextSerial: UInt64 = 0
    /// Listed in the context's sockets, to be closed when it ends (a closed or pooled socket
    /// stays listed, untracked, so that its reference to the context is cleared).
    var isTracked = false
    /// In its context's list (once, however often it reconnects there).
    var isListed = false
    /// `stream.defaults` hold a location's `lua_socket_*` rather than the engine's.
    var hasLocationDefaults = false
    /// What the latest `connect` asked for, as given (before name resolution), for the error log.
    var target: ConnectTarget?

    private var connectWaiter: LuaCoroutine?
    private var readWaiter: LuaCoroutine?
    private var readIsUntilIteration = false
    private var sendWaiter: LuaCoroutine?
    /// The coroutine waiting in `sslhandshake`, and whether it asked for no session back
    /// (`reused_session == false`: it gets `true`).
    var handshakeWaiter: LuaCoroutine?
    var handshakeReturnsTrue = false

    init(worker: LuaWorker) {
        self.worker = worker
        self.stream = StreamSocket(engine: worker.engine)
        self.stream.delegate = self
    }

    /// The stream does not retain its delegate: it must not report here once this is gone.
    deinit {
        stream.abort()
    }

    // MARK: Waiting

    func waitForConnect(_ coroutine: LuaCoroutine) {
        connectWaiter = coroutine
        coroutine.wait = .socket(self)
    }

    func waitForRead(_ coroutine: LuaCoroutine, untilIteration: Bool) {
        readWaiter = coroutine
        readIsUntilIteration = untilIteration
        coroutine.wait = .socket(self)
    }

    func waitForSend(_ coroutine: LuaCoroutine) {
        sendWaiter = coroutine
        coroutine.wait = .socket(self)
    }

    /// A waiting coroutine was killed: the reference cleans its pending operation up by
    /// closing the socket.
    func coroutineKilled(_ coroutine: LuaCoroutine) {
        if connectWaiter === coroutine || readWaiter === coroutine || sendWaiter === coroutine || handshakeWaiter === coroutine {
            handshakeWaiter = nil
            connectWaiter = nil
            readWaiter = nil
            sendWaiter = nil
            stream.abort()
            stream.delegate = self
        }
    }

    /// Back to a new socket's state, for reuse by the next `ngx.socket.tcp()` once Lua has
    /// collected this one; `false` when something still uses it.
    func resetForReuse() -> Bool {
        guard connectWaiter == nil, readWaiter == nil, sendWaiter == nil, handshakeWaiter == nil, stream.resetForReuse() else {
            return false
        }
        // `abort` (at the end of its last context) let go of the delegate.
        stream.delegate = self
        context = nil
        contextSerial = 0
        isTracked = false
        isListed = false
        target = nil
        readIsUntilIteration = false
        return true
    }

    /// A context this socket connected in ended: if it is still the socket's, the socket
    /// forgets it and closes whatever is not pooled.
    func contextEnded(_ ended: LuaContext) {
        guard context === ended else { return }
        context = nil
        isListed = false
        guard isTracked else { return }
        // A socket kept across requests (in a module table) is tracked again by its next one.
        isTracked = false
        connectWaiter = nil
        readWaiter = nil
        sendWaiter = nil
        handshakeWaiter = nil
        stream.abort()
        // The Lua object lives on (until collected, or in a module table): its next operations
        // must still report here.
        stream.delegate = self
    }

    // MARK: StreamSocketDelegate

    func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>) {
        guard let waiter = connectWaiter else { return }
        connectWaiter = nil
        logIfFailed(.connect, result)
        worker.wake(waiter, with: .connect(result))
    }

    func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome) {
        guard let waiter = readWaiter else { return }
        readWaiter = nil
        logIfFailed(outcome)
        worker.wake(waiter, with: .read(outcome, untilIteration: readIsUntilIteration))
    }

    func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>) {
        guard let waiter = sendWaiter else { return }
        sendWaiter = nil
        logIfFailed(.write, result)
        worker.wake(waiter, with: .send(result))
    }

    // MARK: Results as Lua values

    static func pushConnectResult(_ L: LuaState, _ result: Result<Void, CosocketError>) -> Int32 {
        switch result {
        case .success:
            lua_pushinteger(L, 1)
            return 1
        case .failure(let error):
            lua_pushnil(L)
            luaPushString(L, error.message)
            return 2
        }
    }

    static func pushSendResult(_ L: LuaState, _ result: Result<Int, CosocketError>) -> Int32 {
        switch result {
        case .success(let count):
            lua_pushinteger(L, lua_Integer(count))
            return 1
        case .failure(let error):
            lua_pushnil(L)
            luaPushString(L, error.message)
            return 2
        }
    }

    /// `data`, or `nil, nil, nil` at the end of a sized `receiveuntil` iteration, or
    /// `nil, err, partial`.
    static func pushReadOutcome(_ L: LuaState, _ outcome: ReadOutcome, untilIteration: Bool) -> Int32 {
        switch outcome {
        case .data(let data):
            data.withUnsafeReadableBytes { luaPushBytes(L, $0) }
            return 1
        case .endOfIteration:
            lua_pushnil(L)
            lua_pushnil(L)
            lua_pushnil(L)
            return 3
        case .failure(let error):
            lua_pushnil(L)
            luaPushString(L, error.message)
            if case .busy = error { return 2 }
            error.partial.withUnsafeReadableBytes { luaPushBytes(L, $0) }
            return 3
        }
    }
}

// MARK: Error log

extension LuaSocket {
    /// `lua_socket_log_errors` (on by default): the reference logs a failed connect and read and
    /// send timeouts to the error log, besides returning `nil, err`. Only the Lua API logs; the
    /// engine and the Swift API report errors to their caller alone.
    func logIfFailed<Success>(_ operation: SocketOperation, _ result: Result<Success, CosocketError>) {
        if case .failure(let error) = result { logFailure(operation, error) }
    }

    func logIfFailed(_ outcome: ReadOutcome) {
        if case .failure(let error) = outcome { logFailure(.read, error) }
    }

    /// The reference's debug line with the timeout an operation starts with (`lua tcp socket
    /// read timeout: 100`); tests look for these. Nothing is formatted below `debug`.
    func logTimeout(_ operation: SocketOperation) {
        guard worker.configuration.logLevel >= .debug else { return }
        let timeouts = stream.timeouts
        let (word, amount): (String, TimeAmount) = switch operation {
        case .connect: ("connect", timeouts.connect ?? stream.defaults.connectTimeout)
        case .write: ("send", timeouts.send ?? stream.defaults.sendTimeout)
        default: ("read", timeouts.read ?? stream.defaults.readTimeout)
        }
        worker.log(.debug, "lua tcp socket \(word) timeout: \(amount.nanoseconds / 1_000_000)", in: context)
    }

    /// The reference's debug lines of `setkeepalive`: the idle timeout, and the pool's size and
    /// key when this call creates the pool.
    func logKeepalive(idleTimeout: TimeAmount?, poolSize: Int?) {
        guard worker.configuration.logLevel >= .debug, let key = stream.poolKey else { return }
        let timeout = idleTimeout ?? stream.defaults.keepaliveTimeout
        worker.log(.debug, "lua tcp socket keepalive timeout: \(timeout == .zero ? "unlimited" : "\(timeout.nanoseconds / 1_000_000) ms")", in: context)
        guard stream.engine.pools.statistics(for: key)?.size == nil else { return }
        worker.log(.debug, "lua tcp socket connection pool size: \(poolSize ?? stream.defaults.poolSize)", in: context)
        worker.log(.debug, "lua tcp socket keepalive create connection pool for key \"\(key)\"", in: context)
    }

    /// The reference's debug line for a connect answered from the pool.
    func logReuse() {
        guard worker.configuration.logLevel >= .debug, case .success(let times) = stream.reusedTimes(), times > 0 else { return }
        worker.log(.debug, "lua tcp socket get keepalive peer: using connection", in: context)
    }

    private func logFailure(_ operation: SocketOperation, _ error: CosocketError) {
        guard stream.defaults.logErrors,
            let entry = Self.errorLogEntry(operation, error, target: target, peerAddress: stream.peerAddress)
        else { return }
        worker.log(entry.level, entry.message, in: context)
    }

    /// The reference's error-log line for a failed operation (without nginx's `client: ...,
    /// request: ...` suffix), or nil for failures it does not log: `closed`, resolver
    /// failures, bad arguments, busy sockets. `target` is what `connect` was given;
    /// `peerAddress` where the connection was opened (nil while waiting in a pool's backlog).
    static func errorLogEntry(
        _ operation: SocketOperation, _ error: CosocketError, target: ConnectTarget?, peerAddress: SocketAddress?
    ) -> (level: LuaLogLevel, message: String)? {
        switch (operation, error) {
        case (.read, .timeout):
            return (.error, "lua tcp socket read timed out")
        case (.write, .timeout):
            return (.error, "lua tcp socket write timed out")
        case (.connect, .timeout):
            if let peerAddress {
                return (.error, "lua tcp socket connect timed out, when connecting to \(describe(peerAddress))")
            }
            // Timed out in the pool's backlog queue, before any connection was opened.
            return (.error, "lua tcp socket queued connect timed out, when trying to connect to \(describe(target))")
        case (.connect, .system(let code, _)):
            let reason = "(\(code): \(systemErrorText(code)))"
            if case .unix(let path)? = target {
                // nginx connects unix sockets synchronously, so the failure comes from its generic
                // connect (naming the peer, and critical unless the error is a network one).
                let networkErrors = [ECONNREFUSED, ECONNRESET, ENETDOWN, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH, EAGAIN]
                let level: LuaLogLevel = networkErrors.contains(code) ? .error : .crit
                return (level, "connect() to unix:\(path) failed \(reason)")
            }
            return (.error, "connect() failed \(reason)")
        default:
            return nil
        }
    }

    /// `address:port` as nginx prints a peer (a unix socket has port 0 there).
    private static func describe(_ address: SocketAddress) -> String {
        if let ip = address.ipAddress, let port = address.port { return "\(ip):\(port)" }
        return "unix:\(address.pathname ?? ""):0"
    }

    private static func describe(_ target: ConnectTarget?) -> String {
        switch target {
        case .host(let host, let port)?: return "\(host):\(port)"
        case .unix(let path)?: return "unix:\(path):0"
        case nil: return ""
        }
    }

    /// nginx prints `strerror` as is ("Connection refused"); `CosocketError.message` lower-cases it.
    private static func systemErrorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "Unknown error \(code)" }
        return String(cString: text)
    }
}

extension LuaSocket {
    /// A closed or pooled socket no longer needs closing when its context ends (it stays
    /// listed there; see ``context``).
    func detachFromContext() {
        isTracked = false
    }
}
