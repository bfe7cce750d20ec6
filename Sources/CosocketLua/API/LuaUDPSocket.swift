import CLuaJIT
import CosocketCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The Swift side of one Lua datagram cosocket (`ngx.socket.udp()`): it owns the engine's
/// ``DatagramSocket``, remembers the coroutine waiting on it (one at a time, as in the
/// reference) and turns results into the reference's Lua return values.
final class LuaUDPSocket: DatagramSocketDelegate {
    let datagram: DatagramSocket
    unowned let worker: LuaWorker
    /// The request, timer or script of the latest `setpeername`, until it ends (cleared by
    /// ``contextEnded(_:)``, which every context calls for the sockets it lists).
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
    /// That context's serial: as in the reference, the socket stays that request's.
    var contextSerial: UInt64 = 0
    private var waiter: LuaCoroutine?

    init(worker: LuaWorker) {
        self.worker = worker
        self.datagram = DatagramSocket(engine: worker.engine)
        self.datagram.delegate = self
    }

    deinit {
        datagram.abort()
    }

    /// Lists the socket in `context` (once per context) and makes it that context's.
    func attach(to context: LuaContext) {
        datagram.defaults = context.socketDefaults ?? worker.engine.configuration
        if self.context !== context {
            self.context = context
            context.datagramSockets.append(self)
        }
        contextSerial = context.serial
    }

    func wait(_ coroutine: LuaCoroutine) {
        waiter = coroutine
        coroutine.wait = .datagram(self)
    }

    /// A waiting coroutine was killed: its operation is dropped with the association, as the
    /// reference's cleanup handler finalizes the socket.
    func coroutineKilled(_ coroutine: LuaCoroutine) {
        guard waiter === coroutine else { return }
        waiter = nil
        datagram.abort()
        datagram.delegate = self
    }

    /// The context ended: the reference closes the request's datagram sockets then.
    func contextEnded(_ ended: LuaContext) {
        guard context === ended else { return }
        context = nil
        waiter = nil
        datagram.abort()
        datagram.delegate = self
    }

    // MARK: DatagramSocketDelegate

    func datagramSocketDidConnect(_ socket: DatagramSocket, result: Result<Void, CosocketError>) {
        guard let waiter else { return }
        self.waiter = nil
        worker.wake(waiter, with: .connect(result))
    }

    func datagramSocketDidReceive(_ socket: DatagramSocket, result: Result<ByteBuffer, CosocketError>) {
        guard let waiter else { return }
        self.waiter = nil
        logIfTimedOut(result)
        logIfFailed("recv()", result)
        worker.wake(waiter, with: .datagram(result))
    }

    /// The reference logs a read timeout (`lua_socket_log_errors`), besides returning it.
    func logIfTimedOut(_ result: Result<ByteBuffer, CosocketError>) {
        guard case .failure(.timeout) = result, worker.engine.configuration.logErrors else { return }
        worker.log(.error, "lua udp socket read timed out", in: context)
    }

    /// nginx's line for a failed `recv()`/`send()` (`recv() failed (111: Connection refused)`):
    /// at `error` for the network's refusals, else at `alert`, as `ngx_connection_error` logs.
    func logIfFailed<Success>(_ call: String, _ result: Result<Success, CosocketError>) {
        guard case .failure(.system(let code, _)) = result, worker.engine.configuration.logErrors else { return }
        let networkErrors = [ECONNREFUSED, ECONNRESET, ENETDOWN, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH]
        let text = strerror(code).map { String(cString: $0) } ?? "Unknown error \(code)"
        worker.log(networkErrors.contains(code) ? .error : .alert, "\(call) failed (\(code): \(text))", in: context)
    }

    /// A datagram, or `nil, err`.
    static func pushReceiveResult(_ L: LuaState, _ result: Result<ByteBuffer, CosocketError>) -> Int32 {
        switch result {
        case .success(let data):
            data.withUnsafeReadableBytes { luaPushBytes(L, $0) }
            return 1
        case .failure(let error):
            lua_pushnil(L)
            luaPushString(L, error.message)
            return 2
        }
    }
}
