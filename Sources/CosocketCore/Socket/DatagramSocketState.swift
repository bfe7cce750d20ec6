/// What a datagram socket (lua-nginx-module's `udpsock`) may do next, without any I/O: the
/// socket's shell asks it before each operation and tells it what happened.
///
/// The reference's rules: one operation waits at a time (a resolve in `setpeername` or a
/// `receive`), and while it waits every other method answers `socket busy`; errors of a
/// datagram socket are never fatal (a refused or timed-out read leaves the socket usable);
/// only `close` and a new `setpeername` end the association.
public struct DatagramSocketState: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Never associated, or closed: send, receive and close answer `closed`.
        case idle
        /// `setpeername` waits for the resolver.
        case resolving
        /// Associated with a peer (the descriptor is open).
        case open
    }

    public private(set) var phase: Phase = .idle
    /// A `receive` waits for a datagram, at most this many bytes of it.
    public private(set) var waitingReceiveSize: Int?

    /// The reference's receive buffer (and largest datagram returned): `UDP_MAX_DATAGRAM_SIZE`.
    public static let maximumDatagramSize = 65536

    public init() {}

    /// Whether an operation waits (the reference's `u->waiting`).
    public var isWaiting: Bool { phase == .resolving || waitingReceiveSize != nil }

    // MARK: Decisions

    public enum PeerDecision: Sendable, Equatable {
        case busy
        /// Go ahead; `closingCurrent`: the current association is closed first.
        case proceed(closingCurrent: Bool)
    }

    /// `setpeername`: refused while something waits; a new peer replaces the current one.
    public mutating func beginSetPeer() -> PeerDecision {
        if isWaiting { return .busy }
        let closing = phase == .open
        phase = .idle
        return .proceed(closingCurrent: closing)
    }

    /// The peer's name is being resolved (the call will finish later).
    public mutating func resolving() {
        phase = .resolving
    }

    /// The descriptor is open and associated.
    public mutating func opened() {
        phase = .open
    }

    /// The association failed (resolver, socket, connect): back to closed.
    public mutating func openFailed() {
        phase = .idle
    }

    public enum OperationDecision: Sendable, Equatable {
        case closed
        case busy
        case proceed
    }

    /// `send`: needs an association and nothing waiting.
    public func sendDecision() -> OperationDecision {
        switch phase {
        case .idle: return .closed
        case .resolving: return .busy
        case .open: return waitingReceiveSize == nil ? .proceed : .busy
        }
    }

    /// `receive(size)`: the size the read asks the kernel for, clamped as the reference clamps
    /// it (`nil` asks for the maximum; negative or oversized values give the maximum too, as
    /// the reference's cast to `size_t` does).
    public static func receiveSize(_ requested: Double?) -> Int {
        guard let requested, requested >= 0, requested < Double(maximumDatagramSize) else { return maximumDatagramSize }
        return Int(requested)
    }

    /// A `receive` starts: `proceed` means try the kernel now, then ``waitForDatagram(size:)``
    /// if it has nothing.
    public func receiveDecision() -> OperationDecision {
        sendDecision()
    }

    /// The kernel had no datagram: the read waits.
    public mutating func waitForDatagram(size: Int) {
        waitingReceiveSize = size
    }

    /// The waiting read ended (a datagram, an error, a timeout, or the socket closed).
    public mutating func receiveEnded() {
        waitingReceiveSize = nil
    }

    /// `close`: `proceed` closes (and the socket is idle after).
    public mutating func close() -> OperationDecision {
        switch phase {
        case .idle: return .closed
        case .resolving: return .busy
        case .open:
            if waitingReceiveSize != nil { return .busy }
            phase = .idle
            return .proceed
        }
    }

    /// Ends everything at once (the owner is gone): nothing waits and nothing is open.
    public mutating func abort() {
        phase = .idle
        waitingReceiveSize = nil
    }
}
