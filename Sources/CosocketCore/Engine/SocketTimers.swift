import NIOCore

/// The socket timeouts of one engine: a ``DeadlineQueue`` and a single NIO timer set for its
/// earliest deadline. A socket whose earliest deadline goes away leaves that timer in place;
/// it fires early, finds nothing due, and is set again for the new earliest deadline.
///
/// Confined to the engine's event loop.
final class SocketTimers: @unchecked Sendable {
    private let eventLoop: EventLoop
    private var queue = DeadlineQueue<StreamSocket>()
    private var scheduled: Scheduled<Void>?
    private var scheduledDeadline: NIODeadline?

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    func deadline(of socket: StreamSocket) -> NIODeadline? {
        queue.deadline(of: socket)
    }

    func arm(_ socket: StreamSocket, at deadline: NIODeadline) {
        queue.insert(socket, at: deadline)
        scheduleIfEarlier(deadline)
    }

    func disarm(_ socket: StreamSocket) {
        queue.remove(socket)
    }

    func shutdown() {
        scheduled?.cancel()
        scheduled = nil
        scheduledDeadline = nil
    }

    private func scheduleIfEarlier(_ deadline: NIODeadline) {
        if let scheduledDeadline, scheduledDeadline <= deadline { return }
        scheduled?.cancel()
        scheduledDeadline = deadline
        scheduled = eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.fire() }
    }

    private func fire() {
        scheduled = nil
        scheduledDeadline = nil
        let now = NIODeadline.now()
        while let socket = queue.popDue(at: now) { socket.timerFired() }
        if let next = queue.first { scheduleIfEarlier(next) }
    }
}
