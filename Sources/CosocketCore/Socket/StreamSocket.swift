#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// A cosocket: lua-nginx-module's `tcpsock`, as a callback-based object confined to one
/// event loop.
///
/// Every method must be called on ``engine``'s event loop. An operation returns its result at
/// once when it can, or returns `nil` and reports later through ``delegate``. At most one
/// connect, one read and one send may be in flight; a read and a send may run together.
/// A read timeout leaves the socket usable; every other failure closes it.
public final class StreamSocket: DeadlineQueueMember, @unchecked Sendable {
    public let engine: CosocketEngine
    /// The `lua_socket_*` defaults this socket's operations fall back to: the engine's, or
    /// those of the location whose request connects it (nginx merges them per location).
    public var defaults: EngineConfiguration

    /// `defaults`' pool size where it differs from the engine's (which the pools apply by
    /// themselves), for pools this socket creates.
    private var locationPoolSize: Int? {
        defaults.poolSize != engine.configuration.poolSize ? defaults.poolSize : nil
    }
    /// Receives the results of operations that could not finish at once. Not retained: the
    /// delegate owns the socket, and lets go of it (``abort()`` clears this) before it goes
    /// away. (A weak reference would give the delegate a side table, which makes each of its
    /// retains and releases several times dearer.)
    public unowned(unsafe) var delegate: (any StreamSocketDelegate)?
    public var timeouts = SocketTimeouts()
    /// The address the latest connect opened a connection to, after name resolution; nil while
    /// it waits in a pool's backlog queue or when it reused a pooled connection. Error messages
    /// name it, as the reference does.
    public private(set) var peerAddress: SocketAddress?

    private enum State {
        case fresh
        /// Waiting for the pool (backlog queue) or for the kernel.
        case connecting(ConnectAttempt)
        case connected(StreamConnection)
        case closed
    }

    private struct ConnectAttempt {
        var target: ConnectTarget
        var key: String
        var waitingForPool: Bool
        /// A descriptor connection whose handshake is in progress.
        var opening: StreamConnection?
    }

    private var state: State = .fresh {
        didSet {
            if case .connected(let connection) = state { openConnection = connection } else { openConnection = nil }
        }
    }
    /// The connection while `state` is `.connected`: the hot paths read it without copying
    /// `state` (an enum whose copy runs an outlined function and retains its payload).
    private var openConnection: StreamConnection?
    private var sourceAddress: SocketAddress?
    private var openingSynchronously = false
    private var synchronousConnectResult: Result<Void, CosocketError>?
    /// Counts connect attempts (and aborts): a completion that arrives for an earlier attempt
    /// finds a different number and only cleans up.
    private var connectGeneration: UInt64 = 0
    private var lastPoolKey: (target: ConnectTarget, key: String)?

    private var readMatcher: ReadMatcher?
    /// A client connection lent by its HTTP connection (see ``adopt(_:limit:)``): given back
    /// once `readLimit` bytes are read, never pooled.
    private var lender: AcceptedStream?
    /// The bytes the stream still has (a request body's rest): it ends there for reads.
    private var readLimit: Int?
    /// A request body was read to its end: `*a` still answers `""` there, as the reference
    /// does, until another read has failed with `closed`.
    private var bodyEnded = false
    /// A read met the end of the stream: further reads fail with `closed` at once.
    private var readFailed = false
    /// The write side is shut (`shutdown("send")` or a send timeout): sends fail with `closed`.
    private var writeClosed = false
    private var readDeadline: NIODeadline?
    private var pendingSendCount: Int?
    private var sendDeadline: NIODeadline?
    private var poolWaitDeadline: NIODeadline?
    private var connectDeadline: NIODeadline?
    /// Where this socket sits in the engine's timeout queue (see ``EngineTimers``). The entry
    /// is armed lazily: an operation that finishes leaves it, and when it fires it re-arms for
    /// whatever deadline is current.
    var deadlineQueueSlot = -1

    public init(engine: CosocketEngine) {
        self.engine = engine
        self.defaults = engine.configuration
    }

    /// A socket dropped while connected closes its connection, as the reference's `__gc` does;
    /// the connection must not report to it any more.
    deinit {
        switch state {
        case .connected(let connection):
            connection.owner = nil
            connection.close()
            engine.pools.closed(connection)
        case .connecting(let attempt):
            if let opening = attempt.opening {
                opening.owner = nil
                opening.close()
                engine.pools.connectFailed(key: attempt.key)
            }
        case .fresh, .closed:
            break
        }
    }

    // MARK: State queries

    /// Whether the socket holds an open connection.
    public var isConnected: Bool {
        if let connection = openConnection { return !connection.isClosed }
        return false
    }

    /// How many times the current connection came from the pool (`getreusedtimes`).
    public func reusedTimes() -> Result<Int, CosocketError> {
        guard let connection = openConnection else { return .failure(.closedEmpty) }
        return .success(connection.reuseCount)
    }

    /// Whether reads can still be attempted: connected and not past the end of the stream.
    public var isReadable: Bool { (openConnection != nil && !readFailed) || bodyEnded }

    /// Whether the socket holds a connection (possibly half-closed by the peer).
    public var hasConnection: Bool { openConnection != nil }

    /// The number of unread bytes in the receive buffer.
    public var bufferedByteCount: Int {
        if let connection = openConnection { return connection.buffer.readableBytes }
        return 0
    }

    // MARK: Connect

    /// Binds the local side of the next connection to `address` (`tcpsock:bind`).
    public func bind(to address: SocketAddress) {
        sourceAddress = address
    }

    /// Connects, taking an idle connection from the pool when there is one.
    ///
    /// An already connected socket closes its connection first, as the reference does.
    public func connect(to target: ConnectTarget, pool: PoolOptions = PoolOptions()) -> Result<Void, CosocketError>? {
        switch state {
        case .connecting: return .failure(.busy(.connect))
        case .connected(let connection):
            if let busy = busyError() { return .failure(busy) }
            release(connection, closing: true)
        case .fresh, .closed: break
        }
        readFailed = false
        writeClosed = false
        peerAddress = nil
        connectGeneration &+= 1
        let key = pool.name ?? defaultPoolKey(for: target)
        var pool = pool
        if pool.size == nil { pool.size = locationPoolSize }
        switch engine.pools.checkout(key: key, options: pool, for: self) {
        case .reuse(let connection):
            attach(connection)
            return .success(())
        case .fail(let error):
            state = .closed
            return .failure(error)
        case .wait:
            state = .connecting(ConnectAttempt(target: target, key: key, waitingForPool: true))
            let deadline = NIODeadline.now() + (timeouts.connect ?? defaults.connectTimeout)
            poolWaitDeadline = deadline
            armTimer(deadline)
            return nil
        case .connect:
            state = .connecting(ConnectAttempt(target: target, key: key, waitingForPool: false))
            return open(target, key: key)
        }
    }

    /// `host:port` (or the path), remembered for the next connect to the same target: the
    /// socket objects are reused across requests, which mostly connect where the last one did.
    private func defaultPoolKey(for target: ConnectTarget) -> String {
        if let lastPoolKey, target == lastPoolKey.target { return lastPoolKey.key }
        let key = target.defaultPoolKey
        lastPoolKey = (target, key)
        return key
    }

    /// Resolves and opens a new connection; fails at once only when the name does not resolve.
    private func open(_ target: ConnectTarget, key: String) -> Result<Void, CosocketError>? {
        let address: SocketAddress
        switch target {
        case .unix(let path):
            do {
                address = try SocketAddress(unixDomainSocketPath: path)
            } catch {
                return failConnect(key: key, .system(errno: ENAMETOOLONG, partial: ByteBuffer()))
            }
        case .host(let host, let port):
            switch engine.resolver.resolve(host: host, port: port, on: engine.eventLoop) {
            case .resolved(let resolved):
                address = resolved
            case .failed(let error):
                return failConnect(key: key, error)
            case .pending(let future):
                let generation = connectGeneration
                future.whenComplete { result in
                    switch result {
                    case .success(let resolved):
                        guard case .connecting = self.state, generation == self.connectGeneration else {
                            self.engine.pools.connectFailed(key: key)  // aborted meanwhile
                            return
                        }
                        self.openResolved(resolved, key: key)
                    case .failure(let error):
                        let failure = (error as? CosocketError) ?? .unresolved(host: host, code: 2, reason: "Server failure")
                        if let result = self.failConnect(key: key, failure, generation: generation) {
                            self.delegate?.socketDidConnect(self, result: result)
                        }
                    }
                }
                return nil
            }
        }
        // A connect can fail inside the call (a unix socket path that does not exist); its result
        // must then be returned, because the caller has not parked its continuation yet.
        openingSynchronously = true
        openResolved(address, key: key)
        openingSynchronously = false
        defer { synchronousConnectResult = nil }
        return synchronousConnectResult
    }

    private func openResolved(_ address: SocketAddress, key: String) {
        peerAddress = address
        #if os(Linux)
        if let poller = engine.poller {
            openDescriptor(address, key: key, poller: poller)
            return
        }
        let connection = StreamConnection(poolKey: key, readSize: defaults.bufferSize, poller: nil)
        #else
        let connection = StreamConnection(poolKey: key, readSize: defaults.bufferSize)
        #endif
        openChannel(connection, to: address, key: key)
    }

    /// How a connect that finished inside the call reports: nginx's connect says EINPROGRESS
    /// for TCP and resumes the caller from the event loop, so light threads spawned meanwhile
    /// run first; a connect that finished inside the call still reports on the next loop turn,
    /// to keep that order.
    private func reportOpening(afterInProgress: Bool, _ report: @escaping () -> Void) {
        if afterInProgress {
            engine.execute(report)
        } else {
            report()
        }
    }

    #if os(Linux)
    /// Opens a connection on a descriptor of the engine's own (see ``CosocketEventLoopGroup``).
    private func openDescriptor(_ address: SocketAddress, key: String, poller: DescriptorPoller) {
        let generation = connectGeneration
        let connection = StreamConnection(poolKey: key, readSize: defaults.bufferSize, poller: poller)
        switch NonBlockingConnect.start(address, from: sourceAddress) {
        case .connected(let descriptor, let afterInProgress):
            if let error = connection.adopt(descriptor, connecting: false) {
                if let result = failConnect(key: key, error, generation: generation) { reportConnect(result) }
                return
            }
            reportOpening(afterInProgress: afterInProgress) {
                self.engine.pools.connected(connection)
                self.connectFinished(connection, generation: generation)
            }
        case .failed(let code, let afterInProgress):
            let error = CosocketError.system(errno: code, partial: ByteBuffer())
            reportOpening(afterInProgress: afterInProgress) {
                if let result = self.failConnect(key: key, error, generation: generation) { self.reportConnect(result) }
            }
        case .inProgress(let descriptor):
            if let error = connection.adopt(descriptor, connecting: true) {
                if let result = failConnect(key: key, error, generation: generation) { reportConnect(result) }
                return
            }
            guard case .connecting(var attempt) = state else { return }
            attempt.opening = connection
            state = .connecting(attempt)
            connection.owner = self
            let deadline = NIODeadline.now() + (timeouts.connect ?? defaults.connectTimeout)
            connectDeadline = deadline
            armTimer(deadline)
        }
    }
    #endif

    /// Opens a connection as a NIO channel.
    private func openChannel(_ connection: StreamConnection, to address: SocketAddress, key: String) {
        let configuration = defaults
        let bufferSize = configuration.bufferSize
        let bootstrap = ClientBootstrap(group: engine.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Set synchronously here: as bootstrap options each one costs a future
                    // chain and dynamic casts per connect.
                    if let options = channel.syncOptions {
                        try options.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 1, high: 1))
                        try options.setOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: bufferSize))
                        try options.setOption(ChannelOptions.maxMessagesPerRead, value: 16)
                        try options.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                    }
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
        let generation = connectGeneration
        let opened: EventLoopFuture<Channel>
        let reportOnNextTurn: Bool
        if sourceAddress == nil, NonBlockingConnect.isLocal(address) {
            // A local peer usually answers inside the call.
            switch NonBlockingConnect.start(address) {
            case .connected(let descriptor, let afterInProgress):
                // `enableMPTCP` only drops the bootstrap's default TCP_NODELAY option here (the
                // descriptor exists, with the option set): applied by the bootstrap, it would
                // cost a future chain per connect.
                opened = bootstrap.enableMPTCP(true).withConnectedSocket(descriptor)
                reportOnNextTurn = afterInProgress
            case .failed(let code, let afterInProgress):
                let error = CosocketError.system(errno: code, partial: ByteBuffer())
                reportOpening(afterInProgress: afterInProgress) {
                    if let result = self.failConnect(key: key, error, generation: generation) { self.reportConnect(result) }
                }
                return
            case .inProgress(let descriptor):
                // NIO takes only connected descriptors: the bootstrap starts over.
                Glibc.close(descriptor)
                reportOnNextTurn = false
                opened = bootstrap.connectTimeout(timeouts.connect ?? configuration.connectTimeout).connect(to: address)
            }
        } else {
            reportOnNextTurn = false
            var connecting = bootstrap.connectTimeout(timeouts.connect ?? configuration.connectTimeout)
            if let sourceAddress { connecting = connecting.bind(to: sourceAddress) }
            opened = connecting.connect(to: address)
        }
        opened.whenComplete { result in
            self.reportOpening(afterInProgress: reportOnNextTurn) {
                switch result {
                case .success:
                    self.engine.pools.connected(connection)
                    self.connectFinished(connection, generation: generation)
                case .failure(let error):
                    if let result = self.failConnect(key: key, Self.connectError(error), generation: generation) {
                        self.reportConnect(result)
                    }
                }
            }
        }
    }

    private func connectFinished(_ connection: StreamConnection, generation: UInt64) {
        guard case .connecting = state, generation == connectGeneration else {
            // Aborted (or connecting again) meanwhile: the connection has no user.
            connection.close()
            engine.pools.closed(connection)
            return
        }
        attach(connection)
        reportConnect(.success(()))
    }

    private func reportConnect(_ result: Result<Void, CosocketError>) {
        if openingSynchronously {
            synchronousConnectResult = result
        } else {
            delegate?.socketDidConnect(self, result: result)
        }
    }

    /// Gives the pool slot back and closes the socket; `nil` when the socket was aborted meanwhile.
    private func failConnect(key: String, _ error: CosocketError, generation: UInt64? = nil) -> Result<Void, CosocketError>? {
        engine.pools.connectFailed(key: key)
        guard case .connecting = state, generation.map({ $0 == connectGeneration }) ?? true else { return nil }
        state = .closed
        return .failure(error)
    }

    static func connectError(_ error: any Error) -> CosocketError {
        if let ioError = error as? IOError { return .system(errno: ioError.errnoCode, partial: ByteBuffer()) }
        if case ChannelError.connectTimeout = error { return .timeoutEmpty }
        if let connectionError = error as? NIOConnectionError,
            let ioError = connectionError.connectionErrors.first?.error as? IOError
        {
            return .system(errno: ioError.errnoCode, partial: ByteBuffer())
        }
        return .closedEmpty
    }

    private func attach(_ connection: StreamConnection) {
        state = .connected(connection)
        connection.owner = self
    }

    // MARK: Pool callbacks (for a connect waiting in the backlog queue)

    /// The pool handed a released connection straight to this waiting connect.
    func poolHandedOver(_ connection: StreamConnection) {
        guard case .connecting = state else {
            engine.pools.closed(connection)
            connection.close()
            return
        }
        poolWaitDeadline = nil
        attach(connection)
        delegate?.socketDidConnect(self, result: .success(()))
    }

    /// The pool made room for this waiting connect to open a new connection.
    func poolGrantedConnect() {
        guard case .connecting(var attempt) = state else { return }
        poolWaitDeadline = nil
        attempt.waitingForPool = false
        state = .connecting(attempt)
        if let result = open(attempt.target, key: attempt.key) { delegate?.socketDidConnect(self, result: result) }
    }

    /// The pool gave up on this waiting connect (timeout or worker exit).
    func poolRejected(_ error: CosocketError) {
        guard case .connecting = state else { return }
        poolWaitDeadline = nil
        state = .closed
        delegate?.socketDidConnect(self, result: .failure(error))
    }

    // MARK: Client connections

    /// Reads from (and writes to) a client connection, as `ngx.req.socket()` does. With a
    /// `limit` (the request body's rest) the stream ends after that many bytes and the
    /// connection goes back to `accepted`, whose delegate is told of the bytes after them;
    /// without one (`ngx.req.socket(true)`) the socket keeps it, and closing the socket
    /// closes the client connection.
    public func adopt(_ accepted: AcceptedStream, limit: Int?) {
        let connection = accepted.connection
        lender = accepted
        readLimit = limit
        readFailed = false
        writeClosed = false
        peerAddress = accepted.remoteAddress
        attach(connection)
        connection.ownerChanged()
        if limit == 0 { giveBack(connection) }
    }

    /// Counts bytes a read took off a request body; at its end the connection goes back.
    private func consumedLimited(_ count: Int, _ connection: StreamConnection) {
        guard let limit = readLimit else { return }
        readLimit = limit - count
        if limit - count <= 0 { giveBack(connection) }
    }

    /// The body has been read: reads answer `closed`, the HTTP connection takes its bytes on.
    private func giveBack(_ connection: StreamConnection) {
        guard let lender else { return }
        self.lender = nil
        readLimit = nil
        readFailed = true
        bodyEnded = true
        state = .closed
        lender.unreadBodyBytes = 0
        connection.owner = lender
        connection.ownerChanged()
    }

    // MARK: Receive

    /// Reads according to `pattern`; `nil` means the result will come through the delegate.
    public func receive(_ pattern: ReadPattern) -> ReadOutcome? {
        guard let connection = openConnection else {
            if case .connecting = state { return .failure(.busy(.connect)) }
            if bodyEnded, case .all = pattern { return .data(ByteBuffer()) }
            bodyEnded = false
            return .failure(.closedEmpty)
        }
        guard readMatcher == nil else { return .failure(.busy(.read)) }
        if readFailed { return .failure(.closedEmpty) }
        readMatcher = ReadMatcher(pattern)
        if let outcome = completeRead(connection) { return outcome }
        let deadline = NIODeadline.now() + (timeouts.read ?? defaults.readTimeout)
        readDeadline = deadline
        armTimer(deadline)
        connection.requestInput()
        return nil
    }

    /// Applies the pending read's pattern to the buffer; ends the read when it decides.
    private func completeRead(_ connection: StreamConnection) -> ReadOutcome? {
        let available = connection.buffer.readableBytes
        let window = readLimit.map { min($0, available) } ?? available
        let eof = connection.inputClosed || readLimit == window
        // Evaluated in place: copying the matcher out and back (its pattern is an enum with
        // array payloads) cost more than scanning a short line.
        guard
            var decision = connection.buffer.withUnsafeReadableBytes({
                readMatcher?.evaluate(UnsafeRawBufferPointer(rebasing: $0.prefix(window)), eof: eof)
            })
        else {
            return nil
        }
        if eof, connection.errorCode != nil, case .all? = readMatcher?.pattern {
            // A reset is not the orderly end `*a` reads up to.
            decision = .closedEarly
        }
        switch decision {
        case .needMore:
            return nil
        case .deliver(let count, let consume, let stripCR):
            connection.consumingBuffered(consume)
            let data = connection.buffer.takeBytes(count, consuming: consume, strippingCR: stripCR)
            endRead()
            consumedLimited(consume, connection)
            return .data(data)
        case .endOfIteration(let consume):
            connection.consumingBuffered(consume)
            connection.buffer.moveReaderIndex(forwardBy: consume)
            endRead()
            consumedLimited(consume, connection)
            return .endOfIteration
        case .closedEarly:
            guard let matcher = readMatcher else { return nil }
            let partial = takePartial(connection, matcher: matcher)
            endRead()
            // A read that failed at a body's end leaves no `*a` answering "" after it.
            bodyEnded = false
            let error = connection.failure(partial: partial)
            // As in the reference, reading is over but the socket object stays: a send reports
            // what the kernel says (a broken pipe after a reset) and `close` releases it.
            readFailed = true
            return .failure(error)
        }
    }

    private func endRead() {
        readMatcher = nil
        readDeadline = nil
    }

    private func takePartial(_ connection: StreamConnection, matcher: ReadMatcher) -> ByteBuffer {
        let count = readLimit.map { min($0, connection.buffer.readableBytes) } ?? connection.buffer.readableBytes
        defer { consumedLimited(count, connection) }
        var stripCR = false
        var kept = count
        switch matcher.pattern {
        case .line: stripCR = true
        case .until(_, nil): kept = count - matcher.heldBackCount
        default: break
        }
        return connection.buffer.takeBytes(kept, consuming: count, strippingCR: stripCR)
    }

    // MARK: Send

    /// Sends `data`; the result is the byte count once all of it is in the kernel's buffer.
    public func send(_ data: ByteBuffer) -> Result<Int, CosocketError>? {
        send(byteCount: data.readableBytes) { $0.write(data) }
    }

    /// Sends several buffers with one gathering write, without joining them.
    public func send(contentsOf buffers: [ByteBuffer]) -> Result<Int, CosocketError>? {
        let count = buffers.reduce(0) { $0 + $1.readableBytes }
        return send(byteCount: count) { $0.write(contentsOf: buffers) }
    }

    private func send(byteCount: Int, write: (StreamConnection) -> Bool) -> Result<Int, CosocketError>? {
        guard let connection = openConnection else {
            if case .connecting = state { return .failure(.busy(.connect)) }
            return .failure(.closedEmpty)
        }
        guard pendingSendCount == nil else { return .failure(.busy(.write)) }
        if writeClosed { return .failure(.closedEmpty) }
        if connection.isClosed {
            let error = Self.writeError(connection)
            release(connection, closing: true, failingWith: error)
            return .failure(error)
        }
        if write(connection) { return .success(byteCount) }
        if connection.isClosed {
            let error = Self.writeError(connection)
            release(connection, closing: true, failingWith: error)
            return .failure(error)
        }
        pendingSendCount = byteCount
        let deadline = NIODeadline.now() + (timeouts.send ?? defaults.sendTimeout)
        sendDeadline = deadline
        armTimer(deadline)
        return nil
    }

    /// NIO reports write errors only to write promises, which the send path avoids; a write to
    /// a channel that closed under it is what the kernel calls a broken pipe.
    private static func writeError(_ connection: StreamConnection) -> CosocketError {
        .system(errno: EPIPE, partial: ByteBuffer())
    }

    private func finishSend(_ result: Result<Int, CosocketError>) {
        pendingSendCount = nil
        sendDeadline = nil
        delegate?.socketDidSend(self, result: result)
    }

    private func busyError() -> CosocketError? {
        if readMatcher != nil { return .busy(.read) }
        if pendingSendCount != nil { return .busy(.write) }
        return nil
    }

    // MARK: Close, keepalive, shutdown, options

    /// Closes the connection (`tcpsock:close`); operations in flight fail with `closed`.
    public func close() -> Result<Void, CosocketError> {
        switch state {
        case .connected(let connection):
            if let busy = busyError() { return .failure(busy) }
            let resetEarlier = connection.isClosed && connection.errorCode != nil
            release(connection, closing: true, failingWith: .closedEmpty)
            // The reference reports a connection that a reset already closed as `closed`.
            return resetEarlier ? .failure(.closedEmpty) : .success(())
        case .connecting:
            return .failure(.busy(.connect))
        case .fresh, .closed:
            return .failure(.closedEmpty)
        }
    }

    /// Puts the connection into the pool (`tcpsock:setkeepalive`); the socket is closed after.
    ///
    /// - Parameters:
    ///   - idleTimeout: the longest the connection may sit idle; `nil` uses the configured
    ///     default, `.zero` keeps it forever.
    ///   - poolSize: the pool's capacity, used only if this call creates the pool.
    public func setKeepalive(idleTimeout: TimeAmount?, poolSize: Int?) -> Result<Void, CosocketError> {
        guard let connection = openConnection else { return .failure(.closedEmpty) }
        if let busy = busyError() { return .failure(busy) }
        if connection.isClosed || connection.inputClosed || readFailed || writeClosed {
            release(connection, closing: true)
            return .failure(connection.failure(partial: ByteBuffer()))
        }
        // The reference refuses, and keeps the socket usable, while its own buffer holds data.
        if connection.buffer.readableBytes > connection.bytesReadAhead { return .failure(.unreadData) }
        // Bytes the peer sent that nobody read: the reference refuses and closes the socket.
        if connection.bytesReadAhead > 0 {
            release(connection, closing: true)
            return .failure(.dubiousState)
        }
        release(connection, closing: false)
        engine.pools.release(
            connection,
            idleTimeout: idleTimeout ?? defaults.keepaliveTimeout,
            poolSize: poolSize ?? locationPoolSize
        )
        return .success(())
    }

    /// Closes the write side (`tcpsock:shutdown("send")`); reading goes on.
    public func shutdownSend() -> Result<Void, CosocketError> {
        guard let connection = openConnection, !connection.isClosed else { return .failure(.closedEmpty) }
        if pendingSendCount != nil { return .failure(.busy(.write)) }
        writeClosed = true
        connection.shutdownOutput()
        return .success(())
    }

    /// Sets a socket option (`tcpsock:setoption`).
    public func setOption(_ option: TCPSocketOption, value: Int) -> Result<Void, CosocketError> {
        guard let connection = openConnection else { return .failure(.closedEmpty) }
        return connection.setOption(option, value: value)
    }

    /// Reads a socket option (`tcpsock:getoption`).
    public func getOption(_ option: TCPSocketOption) -> Result<Int, CosocketError> {
        guard let connection = openConnection else { return .failure(.closedEmpty) }
        return connection.getOption(option)
    }

    /// Returns a socket that holds no connection and waits for nothing to its freshly created
    /// state (the delegate is the owner's to set), so that an owner can reuse it instead of
    /// allocating one;
    /// `false` (and nothing changed) for a socket still in use. Completions of earlier connect
    /// attempts that are still on their way find a newer attempt number and only clean up.
    public func resetForReuse() -> Bool {
        switch state {
        case .fresh, .closed: break
        case .connecting, .connected: return false
        }
        guard readMatcher == nil, pendingSendCount == nil, engine.timers.deadline(of: self) == nil else { return false }
        state = .fresh
        timeouts = SocketTimeouts()
        peerAddress = nil
        sourceAddress = nil
        readFailed = false
        bodyEnded = false
        writeClosed = false
        readDeadline = nil
        sendDeadline = nil
        poolWaitDeadline = nil
        connectDeadline = nil
        connectGeneration &+= 1
        return true
    }

    /// Ends every activity without reporting to the delegate: the owner (a finished request or
    /// coroutine) is gone. The connection is closed unless it was already pooled.
    public func abort() {
        delegate = nil
        connectGeneration &+= 1
        switch state {
        case .connected(let connection):
            release(connection, closing: true)
        case .connecting(let attempt):
            if attempt.waitingForPool { engine.pools.cancelWaiter(self, key: attempt.key) }
            if let opening = attempt.opening {
                opening.owner = nil
                opening.close()
                engine.pools.connectFailed(key: attempt.key)
            }
            state = .closed
        case .fresh, .closed:
            break
        }
        cancelTimer()
    }

    /// Detaches the connection from this socket, closing it (and telling the pool) if asked,
    /// and fails any operation still in flight with `error`.
    private func release(_ connection: StreamConnection, closing: Bool, failingWith error: CosocketError = .closedEmpty) {
        state = .closed
        connection.owner = nil
        if let lender {
            // A lent client connection goes back. A raw one closes when asked (the request
            // ends with it); of a body, the HTTP connection discards what was not read.
            self.lender = nil
            connection.owner = lender
            connection.ownerChanged()
            lender.unreadBodyBytes = readLimit ?? 0
            if closing && readLimit == nil { lender.close() }
            readLimit = nil
        } else if closing {
            connection.close()
            engine.pools.closed(connection)
        }
        cancelTimer()
        if readMatcher != nil {
            endRead()
            delegate?.socketDidRead(self, outcome: .failure(error))
        }
        if pendingSendCount != nil {
            finishSend(.failure(error.withPartial(ByteBuffer())))
        }
    }

    // MARK: Timer

    private func armTimer(_ deadline: NIODeadline) {
        if let armed = engine.timers.deadline(of: self), armed <= deadline { return }
        engine.timers.arm(self, at: deadline)
    }

    private func cancelTimer() {
        engine.timers.disarm(self)
        poolWaitDeadline = nil
        connectDeadline = nil
        readDeadline = nil
        sendDeadline = nil
    }

    /// Called by the engine's ``EngineTimers`` once the armed deadline has passed.
    func timerFired() {
        let now = NIODeadline.now()
        if let deadline = readDeadline, deadline <= now { readTimedOut() }
        if let deadline = sendDeadline, deadline <= now { sendTimedOut() }
        if let deadline = poolWaitDeadline, deadline <= now, case .connecting(let attempt) = state {
            poolWaitDeadline = nil
            engine.pools.waiterTimedOut(self, key: attempt.key)
        }
        if let deadline = connectDeadline, deadline <= now { connectTimedOut() }
        let next = [readDeadline, sendDeadline, poolWaitDeadline, connectDeadline].compactMap { $0 }.min()
        if let next { armTimer(next) }
    }

    /// A descriptor connect still in progress at its deadline fails as the bootstrap's does.
    private func connectTimedOut() {
        connectDeadline = nil
        guard case .connecting(let attempt) = state, let opening = attempt.opening else { return }
        opening.owner = nil
        opening.close()
        if let result = failConnect(key: attempt.key, .timeoutEmpty) { delegate?.socketDidConnect(self, result: result) }
    }

    private func readTimedOut() {
        guard let connection = openConnection, let matcher = readMatcher else { return }
        let partial = takePartial(connection, matcher: matcher)
        endRead()
        delegate?.socketDidRead(self, outcome: .failure(.timeout(partial: partial)))
    }

    /// As in the reference, a send timeout shuts the write side only: reading and `close` go on.
    private func sendTimedOut() {
        guard let connection = openConnection, pendingSendCount != nil else { return }
        pendingSendCount = nil
        sendDeadline = nil
        writeClosed = true
        connection.shutdownOutput()
        delegate?.socketDidSend(self, result: .failure(.timeoutEmpty))
    }
}

// MARK: - Connection events

extension StreamSocket: StreamConnectionOwner {
    func connectionHasInput(_ connection: StreamConnection) {
        guard readMatcher != nil else { return }
        if let outcome = completeRead(connection) {
            delegate?.socketDidRead(self, outcome: outcome)
        } else {
            // The read timeout measures inactivity, as nginx's does: bytes restart it. The armed
            // timer finds the later deadline when it fires and re-arms itself.
            readDeadline = NIODeadline.now() + (timeouts.read ?? defaults.readTimeout)
            connection.requestInput()
        }
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        // The HTTP connection's response writes wait for it too (`ngx.flush(true)`).
        lender?.connectionDidDrain(connection)
        guard let count = pendingSendCount else { return }
        finishSend(.success(count))
    }

    func connectionDidConnect(_ connection: StreamConnection, errno code: CInt) {
        guard case .connecting(let attempt) = state, attempt.opening === connection else { return }
        connectDeadline = nil
        connection.owner = nil
        if code == 0 {
            engine.pools.connected(connection)
            connectFinished(connection, generation: connectGeneration)
        } else {
            connection.close()
            if let result = failConnect(key: attempt.key, .system(errno: code, partial: ByteBuffer())) {
                delegate?.socketDidConnect(self, result: result)
            }
        }
    }

    func connectionDidClose(_ connection: StreamConnection) {
        guard pendingSendCount != nil, let current = openConnection, current === connection else { return }
        let error = Self.writeError(connection)
        pendingSendCount = nil
        sendDeadline = nil
        release(connection, closing: true)
        delegate?.socketDidSend(self, result: .failure(error))
    }
}

extension StreamSocket: Hashable {
    public static func == (lhs: StreamSocket, rhs: StreamSocket) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
