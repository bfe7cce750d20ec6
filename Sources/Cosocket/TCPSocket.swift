import CosocketCore
import NIOCore
import NIOPosix

/// A TCP or unix-domain cosocket for Swift code: OpenResty's `ngx.socket.tcp` with async/await.
///
/// The socket lives on one event loop (its engine's). Call it from any task; calls made from a
/// task already running on that loop (see ``EventLoopTaskExecutor``) complete without a thread
/// hop, and an operation whose data is already buffered completes without suspending at all.
/// One read, one send and one connect may be in flight at once; a second of the same kind
/// fails with ``CosocketError/busy(_:)``. Errors carry the bytes read before the failure, and a
/// read timeout (unlike every other error) leaves the socket usable.
///
/// ```swift
/// let socket = TCPSocket()
/// try await socket.connect(host: "127.0.0.1", port: 6379)
/// try await socket.send("PING\r\n")
/// let reply = try await socket.receive(.line)   // "+PONG"
/// try await socket.setKeepalive()               // back to the pool
/// ```
public final class TCPSocket: @unchecked Sendable {
    public let eventLoop: EventLoop
    let socket: StreamSocket

    private var connectContinuation: UnsafeContinuation<Result<Void, CosocketError>, Never>?
    private var readContinuation: UnsafeContinuation<ReadOutcome, Never>?
    private var sendContinuation: UnsafeContinuation<Result<Int, CosocketError>, Never>?
    var handshakeContinuation: UnsafeContinuation<Result<TLSSession, CosocketError>, Never>?

    /// Creates a socket on `eventLoop` (default: one of NIO's shared singleton loops).
    public init(eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.eventLoop = eventLoop
        self.socket = StreamSocket(engine: CosocketEngine.forEventLoop(eventLoop))
        self.socket.delegate = self
    }

    /// Creates a socket on an explicit engine (a server's worker).
    public init(engine: CosocketEngine) {
        self.eventLoop = engine.eventLoop
        self.socket = StreamSocket(engine: engine)
        self.socket.delegate = self
    }

    deinit {
        let socket = self.socket
        if eventLoop.inEventLoop { socket.abort() } else { eventLoop.execute { socket.abort() } }
    }

    // MARK: Connect

    /// Connects to `host:port`, reusing an idle pooled connection of the same pool key if any.
    public func connect(host: String, port: Int, pool: PoolOptions = PoolOptions()) async throws(CosocketError) {
        guard (1...65535).contains(port) else { throw .badArgument("bad port number: \(port)") }
        try await connect(to: .host(host, port: port), pool: pool)
    }

    /// Connects to a unix-domain socket.
    public func connect(unixPath: String, pool: PoolOptions = PoolOptions()) async throws(CosocketError) {
        try await connect(to: .unix(path: unixPath), pool: pool)
    }

    public func connect(to target: ConnectTarget, pool: PoolOptions = PoolOptions()) async throws(CosocketError) {
        let result: Result<Void, CosocketError> = await onLoop(
            immediate: { $0.connect(to: target, pool: pool) },
            park: { self.connectContinuation = $0 }
        )
        try result.get()
    }

    /// Binds the local address of the next connection (`tcpsock:bind`).
    public func bind(host: String) async throws(CosocketError) {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: host, port: 0)
        } catch {
            throw .badArgument("bad address")
        }
        await run { $0.bind(to: address) }
    }

    // MARK: Receive

    /// Reads `.bytes(n)`, a `.line` (without CR or LF) or `.all` until the peer closes.
    public func receive(_ pattern: ReadPattern) async throws(CosocketError) -> ByteBuffer {
        if case .bytes(let count) = pattern, count < 0 { throw .badArgument("bad size: \(count)") }
        switch await read(pattern) {
        case .data(let data): return data
        case .endOfIteration: return ByteBuffer()
        case .failure(let error): throw error
        }
    }

    /// Reads whatever arrives first, at most `max` bytes (`receiveany`).
    public func receiveAny(max: Int) async throws(CosocketError) -> ByteBuffer {
        guard max > 0 else { throw .badArgument("bad max argument") }
        return try await receive(.any(max: max))
    }

    /// Returns an iterator over the data before each occurrence of `boundary` (`receiveuntil`).
    public func receiveUntil(_ boundary: some Collection<UInt8>, inclusive: Bool = false) throws(CosocketError) -> UntilIterator {
        guard !boundary.isEmpty else { throw .badArgument("pattern is empty") }
        return UntilIterator(socket: self, reader: UntilReader(boundary: Array(boundary), inclusive: inclusive))
    }

    /// Reads up to the boundary of a ``receiveUntil(_:inclusive:)`` iterator.
    public struct UntilIterator: Sendable {
        let socket: TCPSocket
        let reader: UntilReader

        /// Without `limit`: the data before the next boundary. With `limit`: the next chunk of
        /// at most `limit` bytes before the boundary, then `nil` once the boundary is reached
        /// (with `inclusive`, the boundary comes whole on the chunk that reaches it, which may
        /// then be longer than `limit`, as in the reference).
        public func next(limit: Int? = nil) async throws(CosocketError) -> ByteBuffer? {
            switch await socket.read(.until(reader, limit: limit)) {
            case .data(let data): return data
            case .endOfIteration: return nil
            case .failure(let error): throw error
            }
        }
    }

    func read(_ pattern: ReadPattern) async -> ReadOutcome {
        await onLoop(immediate: { $0.receive(pattern) }, park: { self.readContinuation = $0 })
    }

    // MARK: Send

    /// Sends bytes; returns the count once all of them are in the kernel's send buffer.
    @discardableResult
    public func send(_ data: ByteBuffer) async throws(CosocketError) -> Int {
        try await onLoop(immediate: { $0.send(data) }, park: { self.sendContinuation = $0 }).get()
    }

    @discardableResult
    public func send(_ string: String) async throws(CosocketError) -> Int {
        try await send(ByteBuffer(string: string))
    }

    /// Sends several buffers in one gathering write, without concatenating them.
    @discardableResult
    public func send(contentsOf buffers: [ByteBuffer]) async throws(CosocketError) -> Int {
        try await onLoop(immediate: { $0.send(contentsOf: buffers) }, park: { self.sendContinuation = $0 }).get()
    }

    // MARK: Settings and teardown

    /// Sets the connect, send and read timeouts; `nil` keeps the engine's default.
    public func setTimeouts(connect: TimeAmount?, send: TimeAmount?, read: TimeAmount?) async {
        await run { $0.timeouts = SocketTimeouts(connect: connect, send: send, read: read) }
    }

    /// Sets all three timeouts (`settimeout`).
    public func setTimeout(_ timeout: TimeAmount?) async {
        await run { $0.timeouts = .all(timeout) }
    }

    public func setOption(_ option: TCPSocketOption, value: Int) async throws(CosocketError) {
        try await run { $0.setOption(option, value: value) }.get()
    }

    public func getOption(_ option: TCPSocketOption) async throws(CosocketError) -> Int {
        try await run { $0.getOption(option) }.get()
    }

    /// Returns the connection to its pool (`setkeepalive`); the socket is closed afterwards.
    public func setKeepalive(idleTimeout: TimeAmount? = nil, poolSize: Int? = nil) async throws(CosocketError) {
        try await run { $0.setKeepalive(idleTimeout: idleTimeout, poolSize: poolSize) }.get()
    }

    /// Unread bytes in the receive buffer (for tests of read memory).
    public var bufferedByteCount: Int { get async { await run { $0.bufferedByteCount } } }

    /// How many times the current connection has been taken from the pool.
    public func reusedTimes() async throws(CosocketError) -> Int {
        try await run { $0.reusedTimes() }.get()
    }

    /// Half-closes the connection: the peer sees end of stream, reading goes on.
    public func shutdownWrite() async throws(CosocketError) {
        try await run { $0.shutdownSend() }.get()
    }

    public func close() async throws(CosocketError) {
        try await run { $0.close() }.get()
    }

    // MARK: Loop plumbing

    /// Runs `body` on the loop (see ``LoopHop``).
    private func run<T: Sendable>(_ body: @escaping @Sendable (StreamSocket) -> T) async -> T {
        await LoopHop.run(on: eventLoop, socket, body)
    }

    /// Starts an operation on the loop; suspends only when the engine parks it.
    func onLoop<T: Sendable>(
        immediate: @escaping @Sendable (StreamSocket) -> T?,
        park: @escaping @Sendable (UnsafeContinuation<T, Never>) -> Void
    ) async -> T {
        await LoopHop.start(on: eventLoop, socket, immediate: immediate, park: park)
    }
}

extension TCPSocket: StreamSocketDelegate {
    public func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>) {
        let continuation = connectContinuation
        connectContinuation = nil
        continuation?.resume(returning: result)
    }

    public func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome) {
        let continuation = readContinuation
        readContinuation = nil
        continuation?.resume(returning: outcome)
    }

    public func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>) {
        let continuation = sendContinuation
        sendContinuation = nil
        continuation?.resume(returning: result)
    }

    public func socketDidHandshake(_ socket: StreamSocket, result: Result<TLSSession, CosocketError>) {
        let continuation = handshakeContinuation
        handshakeContinuation = nil
        continuation?.resume(returning: result)
    }
}
