import NIOCore

/// What a stream cosocket (lua-nginx-module's `tcpsock`) may do next, as a value with no I/O
/// and no clock: its phase, the operations in flight, the flags that outlive them and their
/// deadlines. ``StreamSocket`` asks it before each operation, executes what it decides on a
/// ``StreamConnection`` (whichever transport carries it), and tells it what happened.
///
/// The reference's rules: one connect, one read and one send at a time (a read and a send
/// may run together); a second of a kind answers `socket busy ...`; a read timeout leaves the
/// socket usable, every other failure ends the connection; after a read met the end of the
/// stream, reads answer `closed` while sends still reach the kernel; a send timeout shuts the
/// write side only. A TLS handshake on the connection is an operation of its own, refused
/// while a read or send is in flight and making every other operation `socket busy
/// connecting` until it ends (lua-nginx-module's `conn_waiting`).
public struct StreamSocketStateMachine: Sendable, Hashable {
    public enum Phase: Sendable, Equatable {
        /// Never connected (or reset for reuse).
        case fresh
        /// A connect waits in its pool's backlog queue.
        case waitingForPool
        /// A connect resolves its name or opens a connection.
        case opening
        case connected
        /// The connection went (closed, pooled, failed, given back).
        case closed
    }

    public private(set) var phase: Phase = .fresh
    /// Counts connect attempts and aborts: a completion that names an earlier attempt only
    /// cleans up.
    public internal(set) var generation: UInt64 = 0
    public private(set) var isReading = false
    /// A TLS handshake is in flight.
    public private(set) var isHandshaking = false
    /// The byte count of the send in flight.
    public private(set) var pendingSendCount: Int?
    /// A read met the end of the stream (or failed): reads answer `closed` at once.
    public private(set) var readFailed = false
    /// The write side is shut (`shutdown("send")` or a send timeout): sends answer `closed`.
    public private(set) var writeClosed = false
    /// A request body was read to its end: `*a` still answers `""` there, as the reference
    /// does, until another read has failed.
    public private(set) var bodyEnded = false
    /// The connection is a client's, lent by its HTTP connection (`ngx.req.socket`).
    public private(set) var isLent = false
    /// The bytes the lent stream still has (a request body's rest): reads end there.
    public private(set) var readLimit: Int?
    public private(set) var deadlines = SocketDeadlines()

    public init() {}

    public var isConnecting: Bool { phase == .waitingForPool || phase == .opening }

    /// Whether reads can still be attempted.
    public var isReadable: Bool { (phase == .connected && !readFailed) || bodyEnded }

    /// The operation in flight that makes `close`, `setkeepalive` and a reconnect busy.
    public var busyError: CosocketError? {
        if isHandshaking { return .busy(.connect) }
        if isReading { return .busy(.read) }
        if pendingSendCount != nil { return .busy(.write) }
        return nil
    }

    // MARK: Connect

    public enum ConnectDecision: Sendable, Equatable {
        case refuse(CosocketError)
        /// Go ahead; `releasingCurrent`: close the current connection first.
        case proceed(releasingCurrent: Bool)
    }

    /// `connect`: refused while a connect or (on a connected socket) a read or send is in
    /// flight; a connected socket closes its connection first, as the reference's does.
    public func connectDecision() -> ConnectDecision {
        switch phase {
        case .waitingForPool, .opening: return .refuse(.busy(.connect))
        case .connected:
            if let busyError { return .refuse(busyError) }
            return .proceed(releasingCurrent: true)
        case .fresh, .closed: return .proceed(releasingCurrent: false)
        }
    }

    /// A new attempt begins (after any release): it asks its pool first.
    public mutating func connectStarted() {
        readFailed = false
        writeClosed = false
        generation &+= 1
        phase = .opening
    }

    /// The pool is full: the attempt waits in its queue until `deadline`; returns where to arm.
    public mutating func waitForPool(until deadline: NIODeadline) -> NIODeadline? {
        phase = .waitingForPool
        return deadlines.set(.poolWait, at: deadline)
    }

    /// The kernel left the connect in progress: it fails at `deadline`; returns where to arm.
    public mutating func connectInProgress(until deadline: NIODeadline) -> NIODeadline? {
        deadlines.set(.connect, at: deadline)
    }

    /// The address being tried is given up (refused, or past its share of the connect
    /// timeout) and the connect goes on to the next of the name's addresses: the attempt and
    /// its generation stay, the given-up address's deadline goes (the next one sets its own,
    /// and a stale one must not time the next out).
    public mutating func connectMovedOn() {
        deadlines.clear(.connect)
    }

    /// Whether `generation` names the attempt in progress (nil: whichever is).
    public func isCurrentAttempt(_ generation: UInt64?) -> Bool {
        isConnecting && (generation.map { $0 == self.generation } ?? true)
    }

    /// A connection is ready for attempt `generation` (a new one or one from the pool);
    /// `false` when that attempt is over (the caller closes the connection).
    public mutating func connectSucceeded(generation: UInt64? = nil) -> Bool {
        endAttempt(generation, in: .connected)
    }

    /// Attempt `generation` failed; `false` when it was over already (nothing to report).
    public mutating func connectFailed(generation: UInt64? = nil) -> Bool {
        endAttempt(generation, in: .closed)
    }

    /// Ends attempt `generation` in `phase`, with its connect and pool-wait deadlines.
    private mutating func endAttempt(_ generation: UInt64?, in phase: Phase) -> Bool {
        guard isCurrentAttempt(generation) else { return false }
        self.phase = phase
        deadlines.clear(.connect)
        deadlines.clear(.poolWait)
        return true
    }

    /// The pool let a queued attempt open a connection; `false` when none waits.
    public mutating func poolGrantedConnect() -> Bool {
        guard isConnecting else { return false }
        phase = .opening
        deadlines.clear(.poolWait)
        return true
    }

    // MARK: A lent client connection

    /// A client connection is lent (`ngx.req.socket`), with `limit` bytes to read if it is a
    /// request body's; returns whether the stream ends at once (the body is empty).
    public mutating func adopted(limit: Int?) -> Bool {
        phase = .connected
        isLent = true
        readLimit = limit
        readFailed = false
        writeClosed = false
        return limit == 0
    }

    /// The bytes a read may take of `available` buffered ones, and whether the stream ends
    /// after them (the peer's end of stream, or the lent body's end).
    public func readWindow(available: Int, inputClosed: Bool) -> (count: Int, endsStream: Bool) {
        guard let readLimit else { return (available, inputClosed) }
        let count = Swift.min(readLimit, available)
        return (count, inputClosed || readLimit == count)
    }

    /// A read took `count` bytes; returns whether a lent body is now read to its end (the
    /// caller gives the connection back).
    public mutating func consumed(_ count: Int) -> Bool {
        guard let limit = readLimit else { return false }
        readLimit = limit - count
        return limit - count <= 0
    }

    /// The body was read to its end and its connection went back to its HTTP connection (a
    /// read that took the last bytes ends right after, with ``readEnded(atEndOfStream:)``).
    public mutating func bodyGivenBack() {
        isLent = false
        readLimit = nil
        readFailed = true
        bodyEnded = true
        phase = .closed
    }

    // MARK: Read

    public enum ReadDecision: Sendable, Equatable {
        case refuse(CosocketError)
        /// Answer `""`: `*a` after a request body's end.
        case emptyBody
        /// The read begins: try the buffer, then wait for input.
        case proceed
    }

    /// `receive`: `readsAll` for the `*a` pattern.
    public mutating func readDecision(readsAll: Bool) -> ReadDecision {
        guard phase == .connected else {
            if isConnecting { return .refuse(.busy(.connect)) }
            if bodyEnded, readsAll { return .emptyBody }
            bodyEnded = false
            return .refuse(.closedEmpty)
        }
        if isHandshaking { return .refuse(.busy(.connect)) }
        if isReading { return .refuse(.busy(.read)) }
        if readFailed { return .refuse(.closedEmpty) }
        isReading = true
        return .proceed
    }

    /// The buffer could not satisfy the read: it waits until `deadline`; returns where to arm.
    public mutating func readWaits(until deadline: NIODeadline) -> NIODeadline? {
        deadlines.set(.read, at: deadline)
    }

    /// Bytes arrived for a waiting read: its inactivity timeout starts again, as nginx's does.
    public mutating func readProgressed(until deadline: NIODeadline) {
        deadlines.postpone(.read, to: deadline)
    }

    /// The read ended; `atEndOfStream`: it failed at the end of the stream (or on an error),
    /// and reading is over.
    public mutating func readEnded(atEndOfStream: Bool = false) {
        isReading = false
        deadlines.clear(.read)
        if atEndOfStream {
            bodyEnded = false
            readFailed = true
        }
    }

    // MARK: Send

    public enum SendDecision: Sendable, Equatable {
        case refuse(CosocketError)
        case proceed
    }

    public func sendDecision() -> SendDecision {
        guard phase == .connected else { return .refuse(isConnecting ? .busy(.connect) : .closedEmpty) }
        if isHandshaking { return .refuse(.busy(.connect)) }
        if pendingSendCount != nil { return .refuse(.busy(.write)) }
        if writeClosed { return .refuse(.closedEmpty) }
        return .proceed
    }

    /// The kernel did not take all `count` bytes: the send waits until `deadline`; returns
    /// where to arm.
    public mutating func sendWaits(count: Int, until deadline: NIODeadline) -> NIODeadline? {
        pendingSendCount = count
        return deadlines.set(.send, at: deadline)
    }

    /// The send in flight ended; its byte count, or nil when none was in flight.
    public mutating func sendEnded() -> Int? {
        defer {
            pendingSendCount = nil
            deadlines.clear(.send)
        }
        return pendingSendCount
    }

    /// The send's deadline passed: the write side shuts (reads and `close` go on); `false`
    /// when no send was in flight.
    public mutating func sendTimedOut() -> Bool {
        guard sendEnded() != nil else { return false }
        writeClosed = true
        return true
    }

    /// A send found the connection gone (a reset or a close under it): the write side is
    /// over. `true` when the read side was over already, and the socket is then done: the
    /// reference finalizes its read and write parts apart, and closes the connection when
    /// both have failed (`close` then answers `closed`; after one failure it answers 1).
    public mutating func sendFailed() -> Bool {
        writeClosed = true
        return readFailed
    }

    // MARK: TLS handshake

    public enum HandshakeDecision: Sendable, Equatable {
        case refuse(CosocketError)
        /// Lent client connections take no upstream handshake.
        case refuseDownstream
        case proceed
    }

    /// `sslhandshake`: on a connection whose reads and writes are still open, with nothing
    /// else in flight.
    public func handshakeDecision() -> HandshakeDecision {
        guard phase == .connected else { return .refuse(isConnecting ? .busy(.connect) : .closedEmpty) }
        if readFailed || writeClosed { return .refuse(.closedEmpty) }
        if let busyError { return .refuse(busyError) }
        if isLent { return .refuseDownstream }
        return .proceed
    }

    /// The handshake could not finish at once: it fails at `deadline` (the connect timeout, as
    /// the reference times it); returns where to arm.
    public mutating func handshakeWaits(until deadline: NIODeadline) -> NIODeadline? {
        isHandshaking = true
        return deadlines.set(.handshake, at: deadline)
    }

    /// The handshake ended (either way); `false` when none was in flight.
    public mutating func handshakeEnded() -> Bool {
        guard isHandshaking else { return false }
        isHandshaking = false
        deadlines.clear(.handshake)
        return true
    }

    // MARK: Close, keepalive, shutdown

    public enum CloseDecision: Sendable, Equatable {
        case refuse(CosocketError)
        case release
    }

    /// `close`.
    public func closeDecision() -> CloseDecision {
        switch phase {
        case .connected: return busyError.map { .refuse($0) } ?? .release
        case .waitingForPool, .opening: return .refuse(.busy(.connect))
        case .fresh, .closed: return .refuse(.closedEmpty)
        }
    }

    /// What `setkeepalive` needs to know of the connection.
    public struct ConnectionCondition: Sendable, Equatable {
        /// Closed, or the peer ended its side.
        public var isOver: Bool
        /// Unread bytes in the receive buffer.
        public var bufferedBytes: Int
        /// Those of them that arrived while no read waited.
        public var bytesReadAhead: Int

        public init(isOver: Bool, bufferedBytes: Int, bytesReadAhead: Int) {
            self.isOver = isOver
            self.bufferedBytes = bufferedBytes
            self.bytesReadAhead = bytesReadAhead
        }
    }

    public enum KeepaliveDecision: Sendable, Equatable {
        /// Answer the error; the socket stays as it is.
        case refuse(CosocketError)
        /// Close, and answer the connection's own failure (its error, else `closed`).
        case closeWithConnectionFailure
        /// Close, and answer the error.
        case close(CosocketError)
        /// Into the pool.
        case pool
    }

    /// `setkeepalive`.
    public func keepaliveDecision(_ connection: ConnectionCondition) -> KeepaliveDecision {
        guard phase == .connected else { return .refuse(.closedEmpty) }
        if let busyError { return .refuse(busyError) }
        // A failed read or send has already ended one side: the reference answers `closed`
        // and leaves the socket to `close` (which answers 1).
        if readFailed || writeClosed { return .refuse(.closedEmpty) }
        if connection.isOver { return .closeWithConnectionFailure }
        // The reference refuses, and keeps the socket usable, while its own buffer holds data.
        if connection.bufferedBytes > connection.bytesReadAhead { return .refuse(.unreadData) }
        // Bytes the peer sent that nobody read: the reference refuses and closes the socket.
        if connection.bytesReadAhead > 0 { return .close(.dubiousState) }
        return .pool
    }

    /// `shutdown("send")`; `connectionOpen`: the connection has not closed under the socket.
    public mutating func shutdownDecision(connectionOpen: Bool) -> SendDecision {
        guard phase == .connected, connectionOpen else { return .refuse(.closedEmpty) }
        if isHandshaking { return .refuse(.busy(.connect)) }
        if pendingSendCount != nil { return .refuse(.busy(.write)) }
        writeClosed = true
        return .proceed
    }

    /// What ``released()`` leaves for the caller to finish.
    public struct Release: Sendable, Equatable {
        /// The connection was lent, with this many body bytes unread (nil: a raw client
        /// connection, which closes with the socket when asked).
        public var lent: Bool
        public var unreadBodyBytes: Int?
        /// A read and a send were in flight: each fails.
        public var failsRead: Bool
        public var failsSend: Bool
        /// A TLS handshake was in flight: it fails.
        public var failsHandshake: Bool
        /// The timeout queue entry is armed: disarm it.
        public var disarms: Bool
    }

    /// The connection leaves the socket (closed, pooled or given back): operations in flight end.
    public mutating func released() -> Release {
        let release = Release(
            lent: isLent, unreadBodyBytes: readLimit,
            failsRead: isReading, failsSend: pendingSendCount != nil, failsHandshake: isHandshaking,
            disarms: deadlines.clearAll()
        )
        phase = .closed
        isLent = false
        readLimit = nil
        isReading = false
        isHandshaking = false
        pendingSendCount = nil
        return release
    }

    // MARK: Abort, reuse, timers

    /// The owner is gone: no attempt in progress will report; returns the phase it was in.
    /// The caller ends a connection or attempt (``released()``, or ``connectAborted()``).
    public mutating func abort() -> Phase {
        generation &+= 1
        return phase
    }

    /// A connect in progress was abandoned; returns whether the queue entry must be disarmed.
    public mutating func connectAborted() -> Bool {
        phase = .closed
        return deadlines.clearAll()
    }

    /// Forgets every deadline; returns whether the queue entry must be disarmed.
    public mutating func cancelDeadlines() -> Bool {
        deadlines.clearAll()
    }

    /// Back to a fresh socket's state for a new owner; `false` (nothing changed) while the
    /// socket holds a connection, waits for something, or has its timeout entry armed.
    public mutating func resetForReuse() -> Bool {
        guard phase == .fresh || phase == .closed, !isReading, !isHandshaking, pendingSendCount == nil, deadlines.armed == nil else {
            return false
        }
        let generation = self.generation &+ 1
        self = StreamSocketStateMachine()
        self.generation = generation
        return true
    }

    /// The timeout queue entry fired.
    public mutating func timerFired() {
        deadlines.entryFired()
    }

    /// One operation whose deadline passed at `now` (its deadline cleared); call until nil,
    /// then ``rearm()``.
    public mutating func takeExpired(at now: NIODeadline) -> SocketDeadlines.Operation? {
        deadlines.takeExpired(at: now)
    }

    /// Where to arm the timeout entry for the deadlines left, if anywhere.
    public mutating func rearm() -> NIODeadline? {
        deadlines.rearm()
    }
}
