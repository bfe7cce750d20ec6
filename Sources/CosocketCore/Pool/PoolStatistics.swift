/// Why a connect operation could not be given a connection by the pool.
///
/// `message` is the error string lua-nginx-module returns to Lua
/// (`nil, err`), so the shell can pass it through unchanged.
public enum PoolFailure: Hashable, Sendable {
    /// The backlog queue was full (`backlog` entries already waiting).
    case tooManyWaiting
    /// The operation waited in the backlog queue for longer than its connect timeout.
    case timeout
    /// The pool was shut down (worker exit) while the operation was waiting.
    case shutdown

    /// The Lua-visible error string.
    public var message: String {
        switch self {
        case .tooManyWaiting: return "too many waiting connect operations"
        case .timeout: return "timeout"
        case .shutdown: return "shutting down"
        }
    }
}

/// A snapshot of one pool key's state and lifetime counters.
///
/// Current gauges (`idle`, `inUse`, `connecting`, `waiting`) are tracked for every
/// key whether or not a pool was created for it and whether or not it has a
/// backlog, so `inUse` means "connections of this key handed to user code and
/// not yet closed or put back" in every mode.
///
/// A key for which no pool was ever created (connects without `pool_size`/
/// `backlog` that were never `setkeepalive`d) is forgotten, counters included,
/// as soon as nothing is open under it; a created pool lives until the machine
/// does, as in nginx where a pool lives as long as its worker.
public struct PoolStatistics: Hashable, Sendable {
    /// The pool size fixed at creation; nil while no pool exists for the key.
    public var size: Int?
    /// The backlog fixed at creation; nil when the pool has no backlog (or no pool exists).
    public var backlog: Int?

    /// Connections kept alive in the pool, ready for reuse.
    public var idle: Int
    /// Connections handed to user code (created, reused or handed over) and not yet
    /// closed or released.
    public var inUse: Int
    /// `connect` decisions (including `connectForWaiter`) whose outcome is not yet reported.
    public var connecting: Int
    /// Connect operations currently queued in the backlog.
    public var waiting: Int

    /// Connects that succeeded (new sockets opened under this key).
    public var totalCreated: Int
    /// Connections handed out again: idle reuse plus direct hand-over to a waiter.
    public var totalReused: Int
    /// Idle connections closed because their keepalive timer fired.
    public var closedByIdleTimeout: Int
    /// Idle connections closed because the peer closed them (or they errored) while idle.
    public var closedByPeer: Int
    /// Idle connections closed to keep the idle list within `size` (LRU eviction).
    public var evicted: Int
    /// Connects that failed.
    public var connectFailures: Int
    /// Waiters that left the backlog queue because their timeout fired.
    public var waitTimeouts: Int
    /// Checkouts refused with `tooManyWaiting`.
    public var rejected: Int

    /// Open connections counted against the pool: idle + in use + connecting.
    /// With a backlog this never exceeds `size` once the pool exists (unless
    /// connections opened before the pool was created are still alive).
    public var open: Int { idle + inUse + connecting }

    public init(
        size: Int? = nil,
        backlog: Int? = nil,
        idle: Int = 0,
        inUse: Int = 0,
        connecting: Int = 0,
        waiting: Int = 0,
        totalCreated: Int = 0,
        totalReused: Int = 0,
        closedByIdleTimeout: Int = 0,
        closedByPeer: Int = 0,
        evicted: Int = 0,
        connectFailures: Int = 0,
        waitTimeouts: Int = 0,
        rejected: Int = 0
    ) {
        self.size = size
        self.backlog = backlog
        self.idle = idle
        self.inUse = inUse
        self.connecting = connecting
        self.waiting = waiting
        self.totalCreated = totalCreated
        self.totalReused = totalReused
        self.closedByIdleTimeout = closedByIdleTimeout
        self.closedByPeer = closedByPeer
        self.evicted = evicted
        self.connectFailures = connectFailures
        self.waitTimeouts = waitTimeouts
        self.rejected = rejected
    }
}
