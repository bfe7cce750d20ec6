import NIOCore

/// Which of a name's addresses a connect tries, in what order, and for how long each: a
/// value with no I/O and no clock of its own, which ``StreamSocket`` consults when it has the
/// addresses, when an attempt fails and when an attempt's share of the timeout runs out.
///
/// With fallback on (`lua_socket_connect_fallback on`, the default) the addresses are tried
/// one after another, ordered as RFC 8305 (section 4) orders them: the family of the answer's
/// first address first, then alternating IPv6 and IPv4, each family keeping its own order. A
/// failed attempt (refused, or any other error, at once or through the handshake) moves on at
/// once; an attempt still in progress is given up after its share of the time left (the time
/// left divided by the attempts left, so the last one has all of it). The attempts run one at
/// a time: the one given up is closed, where RFC 8305 races them; a cosocket's connect has
/// one connection to return and one timeout to honour.
///
/// With fallback off the reference's way: one address picked at random, and its failure is
/// the connect's.
public struct ConnectAttempts: Sendable, Equatable {
    public enum Family: Sendable, Equatable {
        case v4, v6, other

        public init(_ address: SocketAddress) {
            switch address {
            case .v4: self = .v4
            case .v6: self = .v6
            case .unixDomainSocket: self = .other
            }
        }
    }

    /// The addresses' indexes, in the order they are tried.
    public let order: [Int]
    /// Where in ``order`` the attempt in progress is.
    public private(set) var position = 0
    /// When the whole connect times out.
    public let deadline: NIODeadline

    /// - Parameters:
    ///   - families: the addresses' families, in the answer's order (not empty).
    ///   - fallback: try every address; else only the one at `pick` modulo their count.
    ///   - pick: a random number, for the reference's choice.
    ///   - deadline: when the whole connect times out.
    public init(families: [Family], fallback: Bool, pick: Int, deadline: NIODeadline) {
        self.deadline = deadline
        guard fallback else {
            order = families.isEmpty ? [] : [Int(pick.magnitude % UInt(families.count))]
            return
        }
        order = Self.interleaved(families)
    }

    /// RFC 8305's order: the first address's family leads, then the families alternate; when
    /// one runs out the other's addresses follow in their order.
    static func interleaved(_ families: [Family]) -> [Int] {
        guard let lead = families.first else { return [] }
        let first = families.indices.filter { families[$0] == lead }
        let second = families.indices.filter { families[$0] != lead }
        var order: [Int] = []
        order.reserveCapacity(families.count)
        for index in 0..<max(first.count, second.count) {
            if index < first.count { order.append(first[index]) }
            if index < second.count { order.append(second[index]) }
        }
        return order
    }

    /// The address index the attempt in progress goes to (nil when there are none).
    public var current: Int? { position < order.count ? order[position] : nil }

    /// How many attempts are left, the one in progress included.
    public var remaining: Int { max(order.count - position, 0) }

    /// When the attempt in progress, begun at `now`, is given up: its share of the time left.
    public func attemptDeadline(now: NIODeadline) -> NIODeadline {
        guard remaining > 1, deadline > now else { return deadline }
        return now + .nanoseconds((deadline - now).nanoseconds / Int64(remaining))
    }

    public enum Next: Sendable, Equatable {
        /// Try the address at this index.
        case attempt(Int)
        /// No address left, or no time: the connect fails with the last attempt's error.
        case giveUp
    }

    /// The attempt in progress failed, or its share ran out, at `now`: what comes next.
    public mutating func attemptFailed(now: NIODeadline) -> Next {
        guard position < order.count else { return .giveUp }
        position += 1
        guard let next = current, deadline > now else { return .giveUp }
        return .attempt(next)
    }
}
