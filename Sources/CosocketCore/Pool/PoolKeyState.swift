/// The state of one pool key: the pool's fixed configuration (once created), its
/// idle list, its backlog queue and the connections it accounts for.
///
/// All transitions live here so that `PoolStateMachine` can run them in place
/// through `Dictionary`'s optional `_modify` accessor (`pools[key]?.event(...)`),
/// which avoids copying (and re-allocating) the rings and the set on every event.
struct PoolKeyState<Connection: Hashable, Waiter: Hashable> {
    typealias Action = PoolStateMachine<Connection, Waiter>.Action
    typealias Actions = PoolStateMachine<Connection, Waiter>.Actions
    typealias CheckoutDecision = PoolStateMachine<Connection, Waiter>.CheckoutDecision

    /// Pool size, fixed at creation. nil: no pool was created for this key yet
    /// (connections are still accounted for; the first release creates it).
    private(set) var size: Int?
    /// Backlog, fixed at creation. nil: no limit on open connections, no queue.
    private(set) var backlog: Int?

    /// Idle connections, front = least recently used, back = most recently used.
    private(set) var idle = PoolRing<Connection>()
    /// Queued connect operations, FIFO (front = served first).
    private(set) var waiters = PoolRing<Waiter>()
    /// Connections handed to user code. A set (not just a count) so that stale or
    /// duplicated `closed`/`release` events are recognised and ignored.
    private(set) var inUse = SmallSet<Connection>()
    /// Connect decisions whose outcome has not been reported yet.
    private(set) var connecting = 0

    private(set) var totalCreated = 0
    private(set) var totalReused = 0
    private(set) var closedByIdleTimeout = 0
    private(set) var closedByPeer = 0
    private(set) var evicted = 0
    private(set) var connectFailures = 0
    private(set) var waitTimeouts = 0
    private(set) var rejected = 0

    init() {}

    /// Everything counted against the pool's size when it has a backlog.
    var open: Int { idle.count &+ inUse.count &+ connecting }

    var isPoolCreated: Bool { size != nil }

    /// A key without a pool and with nothing open carries no information worth
    /// keeping (nginx does not even have an object for it), so it may be dropped.
    var isDisposable: Bool {
        size == nil && connecting == 0 && inUse.isEmpty && idle.isEmpty && waiters.isEmpty
    }

    var statistics: PoolStatistics {
        PoolStatistics(
            size: size,
            backlog: backlog,
            idle: idle.count,
            inUse: inUse.count,
            connecting: connecting,
            waiting: waiters.count,
            totalCreated: totalCreated,
            totalReused: totalReused,
            closedByIdleTimeout: closedByIdleTimeout,
            closedByPeer: closedByPeer,
            evicted: evicted,
            connectFailures: connectFailures,
            waitTimeouts: waitTimeouts,
            rejected: rejected
        )
    }

    // MARK: - Events

    /// Creates the pool if it does not exist yet; later configurations are ignored
    /// (nginx: "the size of the connection pool cannot be changed once it has been created").
    private mutating func createPoolIfNeeded(size newSize: Int, backlog newBacklog: Int?) {
        guard size == nil else { return }
        size = Swift.max(1, newSize)
        backlog = newBacklog.map { Swift.max(0, $0) }
    }

    mutating func checkout(
        waiter: Waiter,
        poolSize: Int?,
        backlog requestedBacklog: Int?,
        defaultPoolSize: Int,
        isShutDown: Bool
    ) -> CheckoutDecision {
        if isShutDown {
            // Worker exit: nothing is pooled or queued any more, but the connection
            // is still accounted for so the counters stay consistent.
            connecting &+= 1
            return .connect
        }
        if poolSize != nil || requestedBacklog != nil {
            createPoolIfNeeded(size: poolSize ?? defaultPoolSize, backlog: requestedBacklog)
        }
        // LIFO: hand out the most recently used idle connection, as nginx does
        // (it takes the head of its cache queue, where setkeepalive inserts). The
        // hottest connection is the least likely to have been closed by the peer,
        // and LIFO lets the cold ones age out through their idle timers.
        if let connection = idle.popLast() {
            inUse.insert(connection)
            totalReused &+= 1
            return .reuse(connection)
        }
        guard let size, let backlog else {
            // No backlog: nothing limits how many connections are open, only how
            // many idle ones are kept.
            connecting &+= 1
            return .connect
        }
        if open < size {
            connecting &+= 1
            return .connect
        }
        if waiters.count < backlog {
            waiters.append(waiter)
            return .wait
        }
        rejected &+= 1
        return .fail(.tooManyWaiting)
    }

    mutating func connectSucceeded(_ connection: Connection) {
        guard inUse.insert(connection) else { return }  // duplicate report
        if connecting > 0 { connecting &-= 1 }
        totalCreated &+= 1
    }

    mutating func connectFailed() -> Actions {
        guard connecting > 0 else { return .none }  // stale / duplicate report
        connecting &-= 1
        connectFailures &+= 1
        return Actions(wakeWaiterIfRoom())
    }

    mutating func release(
        _ connection: Connection,
        idleTimeout: Duration,
        poolSize: Int?,
        defaultPoolSize: Int,
        isShutDown: Bool
    ) -> Actions {
        guard inUse.contains(connection) else { return .none }  // not ours / already released
        if isShutDown {
            inUse.remove(connection)
            return Actions(.close(connection))
        }
        createPoolIfNeeded(size: poolSize ?? defaultPoolSize, backlog: nil)
        if let waiter = waiters.popFirst() {
            // Stays in use, now on behalf of the waiter: the open count is unchanged.
            totalReused &+= 1
            return Actions(.handOver(connection, to: waiter))
        }
        inUse.remove(connection)
        idle.append(connection)
        let park = Action.park(connection, idleTimeout: idleTimeout > .zero ? idleTimeout : nil)
        if let size, idle.count > size, let victim = idle.popFirst() {
            // Over the size: evict the least recently used idle connection (nginx
            // closes the tail of its cache queue to make room).
            evicted &+= 1
            return Actions(park, .close(victim))
        }
        return Actions(park)
    }

    mutating func closed(_ connection: Connection) -> Actions {
        guard inUse.remove(connection) else { return .none }
        return Actions(wakeWaiterIfRoom())
    }

    enum IdleCloseReason {
        case timer
        case peer
    }

    mutating func idleConnectionGone(_ connection: Connection, reason: IdleCloseReason) -> Actions {
        // Not idle any more (reused, handed over, evicted) => the timer or the
        // peer-close notification raced with that and is stale.
        guard let index = idle.firstIndex(of: connection) else { return .none }
        idle.remove(at: index)
        switch reason {
        case .timer: closedByIdleTimeout &+= 1
        case .peer: closedByPeer &+= 1
        }
        return Actions(.close(connection), wakeWaiterIfRoom())
    }

    mutating func waiterTimedOut(_ waiter: Waiter) -> Actions {
        guard let index = waiters.firstIndex(of: waiter) else { return .none }  // already served
        waiters.remove(at: index)
        waitTimeouts &+= 1
        return Actions(.failWaiter(waiter, .timeout))
    }

    mutating func waiterCancelled(_ waiter: Waiter) -> Bool {
        guard let index = waiters.firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Worker exit: close every idle connection and fail every waiter.
    mutating func shutdown(into actions: inout [Action]) {
        while let connection = idle.popFirst() {
            actions.append(.close(connection))
        }
        while let waiter = waiters.popFirst() {
            actions.append(.failWaiter(waiter, .shutdown))
        }
    }

    /// A slot was freed (connect failed, connection closed): if the backlog queue
    /// is not empty and the pool is below its size, the head waiter may open a
    /// connection. Its slot is counted right away as `connecting`.
    private mutating func wakeWaiterIfRoom() -> Action? {
        guard !waiters.isEmpty, let size, open < size, let waiter = waiters.popFirst() else {
            return nil
        }
        connecting &+= 1
        return .connectForWaiter(waiter)
    }

    // MARK: - Testing support

    /// Internal consistency violations (empty when consistent). Used by tests.
    func invariantViolations(key: String) -> [String] {
        var problems: [String] = []
        var seenIdle = Set<Connection>()
        for connection in idle {
            if !seenIdle.insert(connection).inserted { problems.append("\(key): connection idle twice") }
            if inUse.contains(connection) { problems.append("\(key): connection both idle and in use") }
        }
        var seenWaiters = Set<Waiter>()
        for waiter in waiters where !seenWaiters.insert(waiter).inserted {
            problems.append("\(key): waiter queued twice")
        }
        if connecting < 0 { problems.append("\(key): negative connecting count") }
        if let size {
            if idle.count > size { problems.append("\(key): idle \(idle.count) > size \(size)") }
            if let backlog, waiters.count > backlog {
                problems.append("\(key): waiting \(waiters.count) > backlog \(backlog)")
            }
            if !waiters.isEmpty && open < size { problems.append("\(key): waiter queued while there is room") }
        } else {
            if !idle.isEmpty || !waiters.isEmpty { problems.append("\(key): idle/waiters without a pool") }
        }
        if !waiters.isEmpty && !idle.isEmpty { problems.append("\(key): waiter queued while idle connections exist") }
        return problems
    }
}

extension PoolKeyState: Sendable where Connection: Sendable, Waiter: Sendable {}
