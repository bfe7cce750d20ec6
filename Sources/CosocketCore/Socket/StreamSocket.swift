#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// A cosocket: lua-nginx-module's `tcpsock`, as a callback-based object confined to one
/// event loop.
///
/// Every method must be called on ``engine``'s event loop. An operation returns its result at
/// once when it can, or returns `nil` and reports later through ``delegate``. What may happen
/// next is decided by a ``StreamSocketStateMachine``; this shell executes its decisions on a
/// ``StreamConnection`` (over the engine's descriptors or a NIO channel), the pools and the
/// engine's timers. This file opens connections; `StreamSocket+Operations.swift` reads,
/// sends, closes and times out; `StreamSocket+TLS.swift` runs TLS handshakes.
public final class StreamSocket: DeadlineQueueMember, @unchecked Sendable {
    public let engine: CosocketEngine
    /// The `lua_socket_*` defaults this socket's operations fall back to: the engine's, or
    /// those of the location whose request connects it (nginx merges them per location).
    public var defaults: EngineConfiguration

    /// `defaults`' pool size where it differs from the engine's (which the pools apply by
    /// themselves), for pools this socket creates.
    var locationPoolSize: Int? {
        defaults.poolSize != engine.configuration.poolSize ? defaults.poolSize : nil
    }
    /// Receives the results of operations that could not finish at once. Not retained: the
    /// delegate owns the socket, and lets go of it (``abort()`` clears this) before it goes
    /// away. (A weak reference would give the delegate a side table, which makes each of its
    /// retains and releases several times dearer.)
    public var delegate: (any StreamSocketDelegate)? {
        get {
            delegateCheck.verify()
            return uncheckedDelegate
        }
        set {
            uncheckedDelegate = newValue
            delegateCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedDelegate: (any StreamSocketDelegate)?
    /// Debug builds: asserts that the object is alive whenever `delegate` is read.
    private var delegateCheck = UnownedReferenceCheck()
    public var timeouts = SocketTimeouts()
    /// The address the latest connect opened a connection to, after name resolution; nil while
    /// it waits in a pool's backlog queue or when it reused a pooled connection. Error messages
    /// name it, as the reference does.
    public internal(set) var peerAddress: SocketAddress?

    var machine = StreamSocketStateMachine()
    /// The connection while the machine is `.connected`.
    var connection: StreamConnection?

    /// The key of the pool the connection goes back to (`host:port`, the socket path, or the
    /// `pool` option), while there is a connection.
    public var poolKey: String? { connection?.poolKey }
    /// The attempt in progress: where it goes and its pool key.
    private var attempt: (target: ConnectTarget, key: String)?
    /// A connection whose connect the kernel has in progress.
    private var opening: StreamConnection?
    /// A name's addresses and the order they are tried in, while a connect to one with
    /// several goes on.
    private var attempts: (addresses: ResolvedAddresses, plan: ConnectAttempts)?
    var sourceAddress: SocketAddress?
    private var openingSynchronously = false
    private var synchronousConnectResult: Result<Void, CosocketError>?
    private var lastPoolKey: (target: ConnectTarget, key: String)?

    var readMatcher: ReadMatcher?
    /// A client connection lent by its HTTP connection (see ``adopt(_:limit:)``): given back
    /// at the end of a request body, never pooled.
    var lender: AcceptedStream?
    /// The lender heard that its client ended its side (once per adoption).
    var toldLenderOfEnd = false
    /// Where this socket sits in the engine's timeout queue (see ``EngineTimers``).
    var deadlineQueueSlot = -1
    /// The TLS handshake in flight: what to check once it completes.
    var handshake: TLSHandshakeOptions?

    public init(engine: CosocketEngine) {
        self.engine = engine
        self.defaults = engine.configuration
    }

    /// A socket dropped while connected closes its connection, as the reference's `__gc` does;
    /// the connection must not report to it any more.
    deinit {
        if let connection {
            connection.owner = nil
            connection.close()
            engine.pools.closed(connection)
        }
        if let opening, let attempt {
            opening.owner = nil
            opening.close()
            engine.pools.connectFailed(key: attempt.key)
        }
    }

    // MARK: State queries

    /// Whether the socket holds an open connection.
    public var isConnected: Bool {
        if let connection { return !connection.isClosed }
        return false
    }

    /// How many times the current connection came from the pool (`getreusedtimes`).
    public func reusedTimes() -> Result<Int, CosocketError> {
        guard let connection else { return .failure(.closedEmpty) }
        return .success(connection.reuseCount)
    }

    /// Whether reads can still be attempted: connected and not past the end of the stream.
    public var isReadable: Bool { machine.isReadable }

    /// Whether the socket holds a connection (possibly half-closed by the peer).
    public var hasConnection: Bool { connection != nil }

    /// The number of unread bytes in the receive buffer.
    public var bufferedByteCount: Int {
        if let connection { return connection.buffer.readableBytes }
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
        switch machine.connectDecision() {
        case .refuse(let error): return .failure(error)
        case .proceed(let releasingCurrent):
            if releasingCurrent, let connection { release(connection, closing: true) }
        }
        machine.connectStarted()
        peerAddress = nil
        let key = pool.name ?? defaultPoolKey(for: target)
        var pool = pool
        if pool.size == nil { pool.size = locationPoolSize }
        switch engine.pools.checkout(key: key, options: pool, for: self) {
        case .reuse(let connection):
            _ = machine.connectSucceeded()
            attach(connection)
            return .success(())
        case .fail(let error):
            _ = machine.connectFailed()
            return .failure(error)
        case .wait:
            attempt = (target, key)
            arm(machine.waitForPool(until: .now() + (timeouts.connect ?? defaults.connectTimeout)))
            return nil
        case .connect:
            attempt = (target, key)
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
        let addresses: ResolvedAddresses
        switch target {
        case .unix(let path):
            do {
                addresses = ResolvedAddresses(try SocketAddress(unixDomainSocketPath: path))
            } catch {
                return failConnect(key: key, .system(errno: ENAMETOOLONG, partial: ByteBuffer()))
            }
        case .host(let host, let port):
            switch engine.resolver(for: defaults).resolve(host: host, port: port, on: engine.eventLoop) {
            case .resolved(let resolved):
                // A resolver of the caller's own may break the protocol's promise of one address.
                guard !resolved.isEmpty else { return failConnect(key: key, .unresolved(host: host, code: 3, reason: "Host not found")) }
                addresses = resolved
            case .failed(let error):
                return failConnect(key: key, error)
            case .pending(let future):
                let generation = machine.generation
                future.whenComplete { result in
                    let failure: CosocketError
                    switch result {
                    case .success(let resolved) where !resolved.isEmpty:
                        guard self.machine.isCurrentAttempt(generation) else {
                            self.engine.pools.connectFailed(key: key)  // aborted meanwhile
                            return
                        }
                        return self.openFirst(resolved, key: key)
                    case .success:
                        failure = .unresolved(host: host, code: 3, reason: "Host not found")
                    case .failure(let error):
                        failure = (error as? CosocketError) ?? .unresolved(host: host, code: 2, reason: "Server failure")
                    }
                    if let result = self.failConnect(key: key, failure, generation: generation) {
                        self.delegate?.socketDidConnect(self, result: result)
                    }
                }
                return nil
            }
        }
        // A connect can fail inside the call (a unix socket path that does not exist); its result
        // must then be returned, because the caller has not parked its continuation yet.
        openingSynchronously = true
        openFirst(addresses, key: key)
        openingSynchronously = false
        defer { synchronousConnectResult = nil }
        return synchronousConnectResult
    }

    /// Opens a connection to the first address to try (`addresses` is not empty): the only
    /// one, or the first in ``ConnectAttempts``' order, which is kept (in ``attempts``) only
    /// for a name with several, so that a connect to one address costs nothing more.
    private func openFirst(_ addresses: ResolvedAddresses, key: String) {
        let timeout = timeouts.connect ?? defaults.connectTimeout
        guard addresses.count > 1 else {
            attempts = nil
            return openResolved(addresses[0], key: key, timeout: timeout)
        }
        let now = NIODeadline.now()
        let plan = ConnectAttempts(
            families: (0..<addresses.count).map { ConnectAttempts.Family(addresses[$0]) },
            fallback: defaults.connectFallback, pick: Int.random(in: 0..<addresses.count), deadline: now + timeout
        )
        guard let first = plan.current else { return openResolved(addresses[0], key: key, timeout: timeout) }
        attempts = plan.remaining > 1 ? (addresses, plan) : nil
        openResolved(addresses[first], key: key, timeout: plan.attemptDeadline(now: now) - now)
    }

    /// The address attempt `generation` was trying failed, or ran out of its share of the
    /// timeout (its connection is closed already): opens the next address, if one is left and
    /// time is; `false` when the connect is over (the caller fails it, with the pool's
    /// accounting, exactly once). The pool slot stays the connect's throughout.
    private func openNext(key: String, generation: UInt64) -> Bool {
        guard machine.isCurrentAttempt(generation), let (addresses, current) = attempts else { return false }
        var plan = current
        let now = NIODeadline.now()
        guard case .attempt(let index) = plan.attemptFailed(now: now) else {
            attempts = nil
            return false
        }
        attempts = (addresses, plan)
        machine.connectMovedOn()
        openResolved(addresses[index], key: key, timeout: plan.attemptDeadline(now: now) - now)
        return true
    }

    /// Opens a connection on the loop's transport: a descriptor of the engine's own on a
    /// ``CosocketEventLoopGroup`` loop, else a NIO channel. `timeout`: how long it may take
    /// (the connect timeout, or this attempt's share of it).
    private func openResolved(_ address: SocketAddress, key: String, timeout: TimeAmount) {
        peerAddress = address
        let generation = machine.generation
        let connection = StreamConnection(poolKey: key, readSize: defaults.bufferSize, poller: engine.poller)
        guard engine.poller != nil else {
            connection.openChannel(
                to: address, from: sourceAddress, on: engine.eventLoop,
                connectTimeout: timeout, bufferSize: defaults.bufferSize
            ) { result, afterInProgress in
                self.reportOpening(afterInProgress: afterInProgress) {
                    self.opened(connection, key: key, result, generation: generation)
                }
            }
            return
        }
        switch connection.openDescriptor(to: address, from: sourceAddress) {
        case .connected(let afterInProgress):
            reportOpening(afterInProgress: afterInProgress) {
                self.opened(connection, key: key, .success(()), generation: generation)
            }
        case .failed(let error, let afterInProgress):
            reportOpening(afterInProgress: afterInProgress) {
                self.opened(connection, key: key, .failure(error), generation: generation)
            }
        case .inProgress:
            opening = connection
            connection.owner = self
            arm(machine.connectInProgress(until: .now() + timeout))
        }
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

    /// A new connection opened, or failed to, for attempt `generation`.
    private func opened(_ connection: StreamConnection, key: String, _ result: Result<Void, CosocketError>, generation: UInt64) {
        switch result {
        case .success:
            engine.pools.connected(connection)
            guard machine.connectSucceeded(generation: generation) else {
                // Aborted (or connecting again) meanwhile: the connection has no user.
                connection.close()
                engine.pools.closed(connection)
                return
            }
            attach(connection)
            reportConnect(.success(()))
        case .failure(let error):
            if openNext(key: key, generation: generation) { return }
            if let result = failConnect(key: key, error, generation: generation) { reportConnect(result) }
        }
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
        guard machine.connectFailed(generation: generation) else { return nil }
        attempt = nil
        attempts = nil
        return .failure(error)
    }

    func attach(_ connection: StreamConnection) {
        attempt = nil
        attempts = nil
        self.connection = connection
        connection.owner = self
    }

    /// A connect still in progress at its deadline fails as the bootstrap's does, unless the
    /// deadline was this address's share and another address is left.
    func connectTimedOut() {
        guard let opening, let attempt else { return }
        self.opening = nil
        opening.owner = nil
        opening.close()
        if openNext(key: attempt.key, generation: machine.generation) { return }
        if let result = failConnect(key: attempt.key, .timeoutEmpty) { delegate?.socketDidConnect(self, result: result) }
    }

    /// A connect waiting in its pool's queue timed out: the pool decides (``poolRejected(_:)``).
    func poolWaitTimedOut() {
        guard machine.phase == .waitingForPool, let attempt else { return }
        engine.pools.waiterTimedOut(self, key: attempt.key)
    }

    /// Abandons the connect in progress (the owner is gone).
    func abandonConnect() {
        if machine.phase == .waitingForPool, let attempt { engine.pools.cancelWaiter(self, key: attempt.key) }
        if let opening, let attempt {
            opening.owner = nil
            opening.close()
            engine.pools.connectFailed(key: attempt.key)
        }
        opening = nil
        attempt = nil
        attempts = nil
        if machine.connectAborted() { engine.timers.disarm(self) }
    }

    // MARK: Pool callbacks (for a connect waiting in the backlog queue)

    /// The pool handed a released connection straight to this waiting connect.
    func poolHandedOver(_ connection: StreamConnection) {
        guard machine.connectSucceeded() else {
            engine.pools.closed(connection)
            connection.close()
            return
        }
        attach(connection)
        delegate?.socketDidConnect(self, result: .success(()))
    }

    /// The pool made room for this waiting connect to open a new connection.
    func poolGrantedConnect() {
        guard machine.poolGrantedConnect(), let attempt else { return }
        if let result = open(attempt.target, key: attempt.key) { delegate?.socketDidConnect(self, result: result) }
    }

    /// The pool gave up on this waiting connect (timeout or worker exit).
    func poolRejected(_ error: CosocketError) {
        guard machine.connectFailed() else { return }
        attempt = nil
        delegate?.socketDidConnect(self, result: .failure(error))
    }

    // MARK: Connection events (a connect in progress)

    func connectionDidConnect(_ connection: StreamConnection, errno code: CInt) {
        guard let opening, opening === connection, let attempt else { return }
        self.opening = nil
        connection.owner = nil
        if code != 0 { connection.close() }
        opened(connection, key: attempt.key, code == 0 ? .success(()) : .failure(.system(errno: code, partial: ByteBuffer())), generation: machine.generation)
    }
}

extension StreamSocket: Hashable {
    public static func == (lhs: StreamSocket, rhs: StreamSocket) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
