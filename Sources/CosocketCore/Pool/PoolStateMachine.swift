/// The keepalive connection pool of `ngx.socket.tcp` cosockets, as a pure state machine.
///
/// Semantics are those of lua-nginx-module's `tcpsock:connect` options `pool`,
/// `pool_size` and `backlog`, and of `tcpsock:setkeepalive`. Like
/// async-http-client's `HTTPConnectionPool.StateMachine`, it performs no I/O and
/// reads no clock: the I/O shell feeds it events and executes the actions it
/// returns (open or close sockets, arm or cancel timers, resume waiting
/// coroutines), then reports back what happened (connect results, timer firings,
/// peer closes). That keeps every race (a timer firing just as its connection is
/// reused, a peer closing a connection that was just handed out) decidable here
/// and testable without sockets.
///
/// Identifiers are the shell's: `Connection` names an open connection, `Waiter`
/// names one connect operation. Events naming an unknown or stale identifier are
/// ignored and return no action, because timer firings and close notifications
/// legitimately race with checkouts.
///
/// Pools are identified by the key string the shell computes (the `pool` option,
/// or `"host:port"`, or the unix socket path).
public struct PoolStateMachine<Connection: Hashable, Waiter: Hashable> {

    // MARK: - Actions

    /// The synchronous answer to `checkout`, for the connect operation that asked.
    public enum CheckoutDecision: Hashable {
        /// Use this idle connection. The shell cancels its idle timer, stops watching
        /// it for peer close, and increments its reuse count (`getreusedtimes`).
        case reuse(Connection)
        /// Open a new connection, then report `connectSucceeded` or `connectFailed`
        /// (always one of them: the slot is counted until then).
        case connect
        /// The pool is full: the operation is queued. The shell suspends the
        /// coroutine and arms a timer with its connect timeout; the queue later
        /// resolves it with exactly one of `connectForWaiter`, `handOver` or
        /// `failWaiter`, unless the shell reports `waiterCancelled` first.
        case wait
        /// Refused; return `nil, failure.message` to Lua (`tooManyWaiting`).
        case fail(PoolFailure)
    }

    /// A side effect the shell must perform. There is no separate "cancel idle
    /// timer" action: it is implied by the ones that take a connection out of the
    /// idle list (`close`, and `CheckoutDecision.reuse`).
    public enum Action: Hashable {
        /// Keep `connection` alive in the pool: stop using it, start watching it for
        /// peer close / readability, and, when `idleTimeout` is non-nil, arm its idle
        /// timer (report `idleTimerFired` when it fires). nil = never expires.
        case park(Connection, idleTimeout: Duration?)
        /// Close `connection` (an idle one evicted, expired or closed by its peer, or
        /// one released after shutdown). Cancel its idle timer and watcher if any.
        case close(Connection)
        /// Resume `waiter` with `connection`, which stays in use on the waiter's
        /// behalf; cancel the waiter's timeout and count a reuse for the connection.
        /// If the waiter is gone, the shell must `release` or `closed` the connection.
        case handOver(Connection, to: Waiter)
        /// Resume `waiter` so that it opens a new connection (a slot is reserved for
        /// it); cancel its timeout. The shell must then report `connectSucceeded` or
        /// `connectFailed` for the key, even if the waiter is gone meanwhile.
        case connectForWaiter(Waiter)
        /// Resume `waiter` with an error (`nil, failure.message`); cancel its timeout
        /// unless that timeout is what fired.
        case failWaiter(Waiter, PoolFailure)
    }

    /// The actions of one event: at most two (e.g. `release` parks one connection
    /// and evicts another; an idle close can free a slot for a waiter). Stored
    /// inline so that the hot path never allocates; iterate it with `for ... in`.
    public struct Actions: Hashable, Sequence {
        public let first: Action?
        public let second: Action?

        /// No action.
        public static var none: Actions { Actions() }

        init(_ first: Action? = nil, _ second: Action? = nil) {
            // Keep the non-nil one first so `first == nil` means "empty".
            if first == nil {
                self.first = second
                self.second = nil
            } else {
                self.first = first
                self.second = second
            }
        }

        public var isEmpty: Bool { first == nil }
        public var count: Int { first == nil ? 0 : (second == nil ? 1 : 2) }
        public var underestimatedCount: Int { count }

        public struct Iterator: IteratorProtocol {
            var remaining: (Action?, Action?)

            init(remaining: (Action?, Action?)) { self.remaining = remaining }

                public mutating func next() -> Action? {
                let next = remaining.0
                remaining = (remaining.1, nil)
                return next
            }
        }

        public func makeIterator() -> Iterator { Iterator(remaining: (first, second)) }
    }

    // MARK: - State

    /// Size of a pool created without an explicit size (`backlog` only, or
    /// `setkeepalive` without `pool_size`): nginx's `lua_socket_pool_size`, 30 by default.
    public let defaultPoolSize: Int

    /// Set by `shutdown()`: from then on nothing is pooled or queued.
    public private(set) var isShutDown = false

    /// The key states, addressed through `slots`. An array element is mutated in place with
    /// no more than a uniqueness check, where `dictionary[key]?.event()` runs `_modify`
    /// coroutines whose frames are heap-allocated: about 1k instructions per event, two
    /// events per pooled request.
    private var states: [PoolKeyState<Connection, Waiter>] = []
    /// The key of each element of `states`.
    private var stateKeys: [String] = []
    private var slots: [String: Int] = [:]
    /// The slot the last lookup found (see `slot(of:)`).
    private var lastSlot = 0

    /// - Parameter defaultPoolSize: see `defaultPoolSize`; values below 1 are treated as 1.
    public init(defaultPoolSize: Int = 30) {
        self.defaultPoolSize = Swift.max(1, defaultPoolSize)
    }

    // MARK: - Events

    /// A connect operation (`tcpsock:connect`) wants a connection for `key`.
    ///
    /// Creates the pool if it does not exist and `poolSize` or `backlog` is given
    /// (size `poolSize ?? defaultPoolSize`); an existing pool's size and backlog
    /// never change, later values are ignored. Then: reuse the most recently used
    /// idle connection if any; else, without a backlog, `connect` (nothing limits
    /// open connections); with a backlog, `connect` while idle + in use +
    /// connecting < size, else `wait` while fewer than `backlog` are queued, else
    /// `fail(.tooManyWaiting)`.
    ///
    /// - Parameters:
    ///   - waiter: identifies this operation if it has to wait; must be unique among
    ///     live waiters.
    ///   - poolSize: the `pool_size` option (values below 1 are treated as 1).
    ///   - backlog: the `backlog` option (negative values are treated as 0).
    public mutating func checkout(
        key: String,
        waiter: Waiter,
        poolSize: Int? = nil,
        backlog: Int? = nil
    ) -> CheckoutDecision {
        states[slotCreating(key)].checkout(
            waiter: waiter,
            poolSize: poolSize,
            backlog: backlog,
            defaultPoolSize: defaultPoolSize,
            isShutDown: isShutDown
        )
    }

    /// A `connect` (or `connectForWaiter`) for `key` succeeded: `connection` is now
    /// in use. Nothing to do for the shell.
    public mutating func connectSucceeded(key: String, connection: Connection) {
        // A real socket is open either way: account for it even if the key state was
        // dropped, so that its later `release`/`closed` is recognised.
        states[slotCreating(key)].connectSucceeded(connection)
    }

    /// A `connect` (or `connectForWaiter`) for `key` failed: its slot is given back,
    /// which may let the head waiter open a connection (`connectForWaiter`).
    public mutating func connectFailed(key: String) -> Actions {
        guard let slot = slot(of: key) else { return .none }
        let actions = states[slot].connectFailed()
        dropIfDisposable(slot)
        return actions
    }

    /// `tcpsock:setkeepalive`: the user puts an in-use `connection` back.
    ///
    /// Creates the pool (size `poolSize ?? defaultPoolSize`, no backlog) if needed.
    /// If a connect operation is queued, the connection goes straight to the head
    /// waiter (`handOver`); otherwise it is parked at the most-recently-used end of
    /// the idle list and, if the idle list is now longer than the pool size, the
    /// least recently used idle connection is evicted (`close`).
    ///
    /// - Parameters:
    ///   - idleTimeout: the keepalive timeout; zero (or negative) = never expires.
    ///   - poolSize: the `pool_size` argument; only used if this creates the pool.
    /// - Returns: no action if `connection` is not in use under `key` (stale or
    ///   duplicate release); after `shutdown()`, `close(connection)`.
    public mutating func release(
        key: String,
        connection: Connection,
        idleTimeout: Duration,
        poolSize: Int? = nil
    ) -> Actions {
        guard let slot = slot(of: key) else { return .none }
        let actions = states[slot].release(
            connection,
            idleTimeout: idleTimeout,
            poolSize: poolSize,
            defaultPoolSize: defaultPoolSize,
            isShutDown: isShutDown
        )
        if isShutDown { dropIfDisposable(slot) }
        return actions
    }

    /// An in-use `connection` was closed (by `tcpsock:close`, an error, or its
    /// coroutine ending) instead of being pooled. Frees its slot, which may let the
    /// head waiter open a connection (`connectForWaiter`).
    public mutating func closed(key: String, connection: Connection) -> Actions {
        guard let slot = slot(of: key) else { return .none }
        let actions = states[slot].closed(connection)
        dropIfDisposable(slot)
        return actions
    }

    /// An idle `connection` became readable / was closed by its peer. Returns
    /// `close(connection)` (plus possibly `connectForWaiter`), or nothing if the
    /// connection is no longer idle (the notification raced with a reuse).
    public mutating func idleConnectionClosedByPeer(key: String, connection: Connection) -> Actions {
        guard let slot = slot(of: key) else { return .none }
        return states[slot].idleConnectionGone(connection, reason: .peer)
    }

    /// The idle timer of `connection` fired. Returns `close(connection)` (plus
    /// possibly `connectForWaiter`), or nothing if it is no longer idle.
    public mutating func idleTimerFired(key: String, connection: Connection) -> Actions {
        guard let slot = slot(of: key) else { return .none }
        return states[slot].idleConnectionGone(connection, reason: .timer)
    }

    /// A queued connect operation's timeout fired: it leaves the queue and fails
    /// with `"timeout"` (`failWaiter(waiter, .timeout)`). Nothing if it was already
    /// served (the timer raced with its wake-up).
    public mutating func waiterTimedOut(key: String, waiter: Waiter) -> Actions {
        guard let slot = slot(of: key) else { return .none }
        return states[slot].waiterTimedOut(waiter)
    }

    /// A queued connect operation's coroutine was killed: it leaves the queue
    /// silently (the shell cancels its timer itself).
    /// - Returns: whether it was still queued.
    @discardableResult
    public mutating func waiterCancelled(key: String, waiter: Waiter) -> Bool {
        guard let slot = slot(of: key) else { return false }
        return states[slot].waiterCancelled(waiter)
    }

    /// Worker exit: closes every idle connection and fails every waiter with
    /// `.shutdown`. Afterwards checkouts always `connect` and releases `close`.
    /// In-use and connecting connections remain accounted for until reported.
    /// Allocates its result array: this runs once.
    public mutating func shutdown() -> [Action] {
        isShutDown = true
        var actions: [Action] = []
        for slot in states.indices { states[slot].shutdown(into: &actions) }
        return actions
    }

    // MARK: - Introspection

    /// Statistics of one key, nil if the machine holds nothing for it.
    public func statistics(for key: String) -> PoolStatistics? {
        slots[key].map { states[$0].statistics }
    }

    /// Calls `body` with every key's statistics (in unspecified order), without
    /// building an intermediate collection.
    public func forEachPool(_ body: (_ key: String, _ statistics: PoolStatistics) throws -> Void) rethrows {
        for (key, state) in zip(stateKeys, states) {
            try body(key, state.statistics)
        }
    }

    /// Every key's statistics.
    public var allStatistics: [String: PoolStatistics] {
        Dictionary(uniqueKeysWithValues: zip(stateKeys, states.lazy.map(\.statistics)))
    }

    // MARK: - Private

    /// The slot of `key`. The last key found is tried first: a worker usually pools one or a
    /// few upstreams, and comparing a short key costs far less than hashing it.
    private mutating func slot(of key: String) -> Int? {
        if lastSlot < stateKeys.count, stateKeys[lastSlot] == key { return lastSlot }
        guard let slot = slots[key] else { return nil }
        lastSlot = slot
        return slot
    }

    /// The slot of `key`, creating an empty state for it if needed.
    private mutating func slotCreating(_ key: String) -> Int {
        if let slot = slot(of: key) { return slot }
        states.append(PoolKeyState())
        stateKeys.append(key)
        slots[key] = states.count - 1
        return states.count - 1
    }

    /// Forgets a key state that holds nothing (swap-remove: the last state moves into `slot`).
    private mutating func dropIfDisposable(_ slot: Int) {
        guard states[slot].isDisposable else { return }
        slots[stateKeys[slot]] = nil
        let last = states.count - 1
        if slot != last {
            states.swapAt(slot, last)
            stateKeys.swapAt(slot, last)
            slots[stateKeys[slot]] = slot
        }
        states.removeLast()
        stateKeys.removeLast()
    }

    /// The idle list of `key`, least recently used first. For tests.
    func idleConnections(for key: String) -> [Connection]? {
        slots[key].map { Array(states[$0].idle) }
    }

    /// Internal consistency violations, empty when consistent. For tests.
    func invariantViolations() -> [String] {
        var problems: [String] = []
        var everyIdle = Set<Connection>()
        var everyInUse = Set<Connection>()
        if slots.count != states.count || stateKeys.count != states.count
            || slots.contains(where: { stateKeys[$0.value] != $0.key })
        {
            problems.append("key slots out of step with the states")
        }
        for (key, state) in zip(stateKeys, states) {
            problems += state.invariantViolations(key: key)
            for connection in state.idle where !everyIdle.insert(connection).inserted {
                problems.append("connection idle under two keys")
            }
            for connection in state.inUse.members where !everyInUse.insert(connection).inserted {
                problems.append("connection in use under two keys")
            }
            if isShutDown && (!state.idle.isEmpty || !state.waiters.isEmpty) {
                problems.append("\(key): idle or waiting after shutdown")
            }
        }
        if !everyIdle.isDisjoint(with: everyInUse) {
            problems.append("connection both idle and in use")
        }
        return problems
    }
}

extension PoolStateMachine: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Action: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Actions: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.CheckoutDecision: Sendable where Connection: Sendable, Waiter: Sendable {}
