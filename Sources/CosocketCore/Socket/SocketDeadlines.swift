import NIOCore

/// The deadlines of one socket's operations in flight, and the one entry the socket has in
/// its engine's timeout queue (``EngineTimers``); a value with no clock, shared by stream
/// and datagram sockets.
///
/// The entry is armed lazily: a deadline that goes away or moves later leaves it in place;
/// it fires early, finds nothing due, and is armed again for whatever deadline is current.
/// So a read that finishes, or bytes that restart a read's inactivity timer, cost no queue
/// operation at all.
public struct SocketDeadlines: Sendable, Hashable {
    /// What a deadline bounds. `allCases` is the order in which deadlines that passed together
    /// are handled.
    public enum Operation: Int, Sendable, CaseIterable {
        case read, send, poolWait, connect, handshake
    }

    private var read: NIODeadline?
    private var send: NIODeadline?
    private var poolWait: NIODeadline?
    private var connect: NIODeadline?
    private var handshake: NIODeadline?
    /// The deadline the queue entry is armed for; nil when the socket is not queued.
    public private(set) var armed: NIODeadline?

    public init() {}

    public func deadline(_ operation: Operation) -> NIODeadline? {
        switch operation {
        case .read: return read
        case .send: return send
        case .poolWait: return poolWait
        case .connect: return connect
        case .handshake: return handshake
        }
    }

    private mutating func store(_ operation: Operation, _ deadline: NIODeadline?) {
        switch operation {
        case .read: read = deadline
        case .send: send = deadline
        case .poolWait: poolWait = deadline
        case .connect: connect = deadline
        case .handshake: handshake = deadline
        }
    }

    /// Sets `operation`'s deadline; returns where the entry must be armed (nil: it is armed
    /// early enough already).
    public mutating func set(_ operation: Operation, at deadline: NIODeadline) -> NIODeadline? {
        store(operation, deadline)
        if let armed, armed <= deadline { return nil }
        armed = deadline
        return deadline
    }

    /// Moves `operation`'s deadline without touching the entry: for a deadline that only moves
    /// later (a read's inactivity timer restarted by bytes).
    public mutating func postpone(_ operation: Operation, to deadline: NIODeadline) {
        store(operation, deadline)
    }

    public mutating func clear(_ operation: Operation) {
        store(operation, nil)
    }

    /// Forgets every deadline; returns whether the entry was armed (the caller disarms it).
    public mutating func clearAll() -> Bool {
        read = nil
        send = nil
        poolWait = nil
        connect = nil
        handshake = nil
        defer { armed = nil }
        return armed != nil
    }

    /// The queue let go of the entry as it fired.
    public mutating func entryFired() {
        armed = nil
    }

    /// One deadline that has passed at `now`, cleared; nil when none has. Called until nil,
    /// so that an operation started while an earlier one's timeout is handled is seen afresh.
    public mutating func takeExpired(at now: NIODeadline) -> Operation? {
        for operation in Operation.allCases {
            if let deadline = deadline(operation), deadline <= now {
                store(operation, nil)
                return operation
            }
        }
        return nil
    }

    /// The earliest remaining deadline, if the entry must be armed for it.
    public mutating func rearm() -> NIODeadline? {
        var earliest: NIODeadline?
        for operation in Operation.allCases {
            if let deadline = deadline(operation), earliest.map({ deadline < $0 }) ?? true { earliest = deadline }
        }
        guard let earliest else { return nil }
        if let armed, armed <= earliest { return nil }
        armed = earliest
        return earliest
    }
}
