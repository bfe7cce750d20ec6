import CLuaJIT
import CosocketCore
import NIOCore

/// The Swift side of one Lua cosocket object (`ngx.socket.tcp()`): it owns the engine socket,
/// remembers which coroutine waits for which operation, and turns engine results into the
/// reference's Lua return values.
final class LuaSocket: StreamSocketDelegate {
    let stream: StreamSocket
    unowned let worker: LuaWorker
    /// The request, timer or script the socket belongs to (set by `connect`).
    weak var context: LuaContext?
    /// Listed in the context's sockets, to be closed when it ends.
    var isTracked = false

    private var connectWaiter: LuaCoroutine?
    private var readWaiter: LuaCoroutine?
    private var readIsUntilIteration = false
    private var sendWaiter: LuaCoroutine?

    init(worker: LuaWorker) {
        self.worker = worker
        self.stream = StreamSocket(engine: worker.engine)
        self.stream.delegate = self
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
        if connectWaiter === coroutine || readWaiter === coroutine || sendWaiter === coroutine {
            connectWaiter = nil
            readWaiter = nil
            sendWaiter = nil
            stream.abort()
            stream.delegate = self
        }
    }

    /// The owning context ended: close whatever is not pooled.
    func contextEnded() {
        connectWaiter = nil
        readWaiter = nil
        sendWaiter = nil
        stream.abort()
    }

    // MARK: StreamSocketDelegate

    func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>) {
        guard let waiter = connectWaiter else { return }
        connectWaiter = nil
        worker.wake(waiter, with: .connect(result))
    }

    func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome) {
        guard let waiter = readWaiter else { return }
        readWaiter = nil
        worker.wake(waiter, with: .read(outcome, untilIteration: readIsUntilIteration))
    }

    func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>) {
        guard let waiter = sendWaiter else { return }
        sendWaiter = nil
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

extension LuaSocket {
    /// A closed or pooled socket no longer needs closing when its context ends.
    func detachFromContext() {
        guard isTracked else { return }
        isTracked = false
        context?.sockets.removeAll { $0 === self }
    }
}
