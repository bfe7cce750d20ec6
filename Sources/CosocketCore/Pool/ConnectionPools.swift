import NIOCore

/// What a connect should do, as the pool decides.
enum PoolCheckout {
    case reuse(StreamConnection)
    case connect
    case wait
    case fail(CosocketError)
}

/// The I/O shell around ``PoolStateMachine``: one per worker, it executes the machine's
/// decisions on real connections (idle timers, watching idle connections for a peer close or
/// stray bytes, resuming queued connects). All bookkeeping lives in the machine.
public final class ConnectionPools: @unchecked Sendable {
    let eventLoop: EventLoop
    private let timers: EngineTimers
    private var machine: PoolStateMachine<StreamConnection, StreamSocket>
    #if os(Linux)
    /// The loop's readiness set, told to favour replies when the pool is under pressure.
    private let poller: DescriptorPoller?
    #endif
    /// For how many client events replies go first after an eviction.
    static let upstreamFirstAfterEviction = 4096

    #if os(Linux)
    init(eventLoop: EventLoop, timers: EngineTimers, poller: DescriptorPoller?, defaultPoolSize: Int) {
        self.eventLoop = eventLoop
        self.timers = timers
        self.poller = poller
        self.machine = PoolStateMachine(defaultPoolSize: defaultPoolSize)
        timers.idleConnectionExpired = { [unowned self] connection in self.idleTimerFired(connection) }
    }
    #else
    init(eventLoop: EventLoop, timers: EngineTimers, defaultPoolSize: Int) {
        self.eventLoop = eventLoop
        self.timers = timers
        self.machine = PoolStateMachine(defaultPoolSize: defaultPoolSize)
        timers.idleConnectionExpired = { [unowned self] connection in self.idleTimerFired(connection) }
    }
    #endif

    /// Idle connections report to their pool: they close with it. The timers may outlive it
    /// (their NIO task holds them until it fires), so they forget it.
    deinit {
        timers.idleConnectionExpired = nil
        for action in machine.shutdown() {
            if case .close(let connection) = action {
                connection.owner = nil
                connection.close()
            }
        }
    }

    // MARK: Introspection

    /// The figures of one pool key, or `nil` when nothing is known about it.
    public func statistics(for key: String) -> PoolStatistics? {
        machine.statistics(for: key)
    }

    /// The figures of every pool key.
    public var allStatistics: [String: PoolStatistics] {
        machine.allStatistics
    }

    // MARK: Events from sockets

    func checkout(key: String, options: PoolOptions, for socket: StreamSocket) -> PoolCheckout {
        switch machine.checkout(key: key, waiter: socket, poolSize: options.size, backlog: options.backlog) {
        case .reuse(let connection):
            stopIdling(connection)
            connection.reuseCount += 1
            return .reuse(connection)
        case .connect:
            return .connect
        case .wait:
            return .wait
        case .fail(let failure):
            return .fail(Self.error(failure))
        }
    }

    func connected(_ connection: StreamConnection) {
        machine.connectSucceeded(key: connection.poolKey, connection: connection)
    }

    func connectFailed(key: String) {
        execute(machine.connectFailed(key: key), key: key)
    }

    func closed(_ connection: StreamConnection) {
        execute(machine.closed(key: connection.poolKey, connection: connection), key: connection.poolKey)
    }

    func release(_ connection: StreamConnection, idleTimeout: TimeAmount, poolSize: Int?) {
        let key = connection.poolKey
        let actions = machine.release(
            key: key,
            connection: connection,
            idleTimeout: .nanoseconds(idleTimeout.nanoseconds),
            poolSize: poolSize
        )
        if actions.isEmpty {
            // Not accounted to this key (cannot happen for a connection the pool opened): never leak it.
            connection.close()
        }
        #if os(Linux)
        for action in actions {
            if case .close(let victim) = action, victim !== connection {
                // Evicted to make room: connects opened new connections while this one was on
                // its way back. Replies go first for a while (see `DescriptorPoller.drain`).
                poller?.preferUpstream(forClientEvents: Self.upstreamFirstAfterEviction)
            }
        }
        #endif
        execute(actions, key: key)
    }

    func waiterTimedOut(_ socket: StreamSocket, key: String) {
        execute(machine.waiterTimedOut(key: key, waiter: socket), key: key)
    }

    func cancelWaiter(_ socket: StreamSocket, key: String) {
        machine.waiterCancelled(key: key, waiter: socket)
    }

    /// Closes every idle connection and fails every queued connect (worker exit).
    public func shutdown() {
        for action in machine.shutdown() { execute(action, key: nil) }
    }

    // MARK: Executing actions

    private func execute(_ actions: PoolStateMachine<StreamConnection, StreamSocket>.Actions, key: String) {
        for action in actions { execute(action, key: key) }
    }

    private func execute(_ action: PoolStateMachine<StreamConnection, StreamSocket>.Action, key: String?) {
        switch action {
        case .park(let connection, let idleTimeout):
            connection.owner = self
            if let idleTimeout {
                timers.armIdle(connection, at: NIODeadline.now() + TimeAmount(idleTimeout))
            }
            // Watch for a peer close or stray bytes while idle.
            connection.requestInput()
        case .close(let connection):
            stopIdling(connection)
            connection.close()
        case .handOver(let connection, let socket):
            connection.reuseCount += 1
            socket.poolHandedOver(connection)
        case .connectForWaiter(let socket):
            socket.poolGrantedConnect()
        case .failWaiter(let socket, let failure):
            socket.poolRejected(Self.error(failure))
        }
    }

    private func stopIdling(_ connection: StreamConnection) {
        timers.disarmIdle(connection)
        connection.owner = nil
        connection.ownerChanged()
    }

    private func idleTimerFired(_ connection: StreamConnection) {
        execute(machine.idleTimerFired(key: connection.poolKey, connection: connection), key: connection.poolKey)
    }

    static func error(_ failure: PoolFailure) -> CosocketError {
        switch failure {
        case .tooManyWaiting: return .tooManyWaitingConnects
        case .timeout: return .timeoutEmpty
        case .shutdown: return .shuttingDown
        }
    }
}

extension ConnectionPools: StreamConnectionOwner {
    func connectionHasInput(_ connection: StreamConnection) {
        // An idle connection has nothing to say: bytes or an EOF mean it is unusable.
        let key = connection.poolKey
        execute(machine.idleConnectionClosedByPeer(key: key, connection: connection), key: key)
    }

    func connectionDidDrain(_ connection: StreamConnection) {}

    func connectionDidClose(_ connection: StreamConnection) {
        let key = connection.poolKey
        execute(machine.idleConnectionClosedByPeer(key: key, connection: connection), key: key)
    }
}
