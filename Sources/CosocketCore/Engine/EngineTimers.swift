import NIOCore

/// The timers of one engine: socket timeouts (connect wait, read, send) and the idle deadlines
/// of pooled connections, each in a ``DeadlineQueue``, with a single NIO timer set for the
/// earliest of them all. A member whose deadline goes away leaves that timer in place; it
/// fires early, finds nothing due, and is set again for the new earliest deadline.
///
/// NIO keeps scheduled tasks in a heap that it searches linearly to cancel one, and each
/// schedule allocates: with a pool of hundreds of idle connections each holding a task, the
/// park and checkout of a connection cost thousands of instructions. Here both are O(log n)
/// array operations.
///
/// Confined to the engine's event loop.
final class EngineTimers: @unchecked Sendable {
    private let eventLoop: EventLoop
    private var sockets = DeadlineQueue<StreamSocket>()
    private var datagramSockets = DeadlineQueue<DatagramSocket>()
    private var idleConnections = DeadlineQueue<StreamConnection>()
    private var scheduled: Scheduled<Void>?
    private var scheduledDeadline: NIODeadline?
    /// Called for a pooled connection whose idle deadline passed (set by the pools).
    var idleConnectionExpired: ((StreamConnection) -> Void)?

    #if os(Linux)
    private let poller: DescriptorPoller?

    init(eventLoop: EventLoop, poller: DescriptorPoller?) {
        self.eventLoop = eventLoop
        self.poller = poller
    }
    #else
    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }
    #endif

    // MARK: Socket timeouts

    func deadline(of socket: StreamSocket) -> NIODeadline? {
        sockets.deadline(of: socket)
    }

    func arm(_ socket: StreamSocket, at deadline: NIODeadline) {
        sockets.insert(socket, at: deadline)
        scheduleIfEarlier(deadline)
    }

    func disarm(_ socket: StreamSocket) {
        sockets.remove(socket)
    }

    /// A datagram socket's read timeout, on the same NIO timer as the stream sockets'.
    func arm(_ socket: DatagramSocket, at deadline: NIODeadline) {
        datagramSockets.insert(socket, at: deadline)
        scheduleIfEarlier(deadline)
    }

    func disarm(_ socket: DatagramSocket) {
        datagramSockets.remove(socket)
    }

    // MARK: Idle connections

    func armIdle(_ connection: StreamConnection, at deadline: NIODeadline) {
        idleConnections.insert(connection, at: deadline)
        scheduleIfEarlier(deadline)
    }

    func disarmIdle(_ connection: StreamConnection) {
        idleConnections.remove(connection)
    }

    // MARK: The NIO timer

    private func scheduleIfEarlier(_ deadline: NIODeadline) {
        if let scheduledDeadline, scheduledDeadline <= deadline { return }
        scheduled?.cancel()
        scheduledDeadline = deadline
        // Captured strongly: a weak capture gives this object a side table, which puts each
        // retain and release of it (several per socket operation) on the runtime's slow path.
        // The task holds it only until it fires, is cancelled, or the loop shuts down.
        scheduled = eventLoop.scheduleTask(deadline: deadline) { self.fire() }
        #if os(Linux)
        poller?.noteLoopWork()
        #endif
    }

    private func fire() {
        scheduled = nil
        scheduledDeadline = nil
        let now = NIODeadline.now()
        while let socket = sockets.popDue(at: now) { socket.timerFired() }
        while let socket = datagramSockets.popDue(at: now) { socket.timerFired() }
        while let connection = idleConnections.popDue(at: now) { idleConnectionExpired?(connection) }
        let next = [sockets.first, datagramSockets.first, idleConnections.first].compactMap { $0 }.min()
        if let next { scheduleIfEarlier(next) }
    }
}
