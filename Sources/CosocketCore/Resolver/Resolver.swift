import NIOCore

/// The addresses a name resolved to, in the answer's order, and the port to connect to.
///
/// One address (an IP literal: most connects) is held without an array, and a cached answer
/// shares its cache entry's array, so a lookup allocates nothing; the port is applied as an
/// address is taken.
public struct ResolvedAddresses: Sendable, Equatable {
    private let single: SocketAddress?
    private let list: [SocketAddress]
    private let port: Int?

    /// One address, port included.
    public init(_ address: SocketAddress) {
        single = address
        list = []
        port = nil
    }

    /// `addresses` (their own ports ignored) at `port`.
    public init(_ addresses: [SocketAddress], port: Int) {
        single = nil
        list = addresses
        self.port = port
    }

    public var count: Int { single == nil ? list.count : 1 }

    /// No address: only a resolver of the caller's own can answer so; sockets then fail the
    /// name as not found rather than trust the protocol's promise.
    public var isEmpty: Bool { count == 0 }

    /// The address at `index` (below ``count``), with the port.
    public subscript(index: Int) -> SocketAddress {
        if let single { return single }
        var address = list[index]
        if let port { address.port = port }
        return address
    }

    /// The first address, with the port (what `udpsock:setpeername` uses).
    public var first: SocketAddress? { count > 0 ? self[0] : nil }

    /// Every address, in order.
    public var all: [SocketAddress] { (0..<count).map { self[$0] } }
}

/// The outcome of a name lookup: most lookups (literals, hosts file, cache) finish at once,
/// so only a real query pays for a future.
public enum ResolveResult: Sendable {
    case resolved(ResolvedAddresses)
    case failed(CosocketError)
    case pending(EventLoopFuture<ResolvedAddresses>)
}

/// Turns a host name into the addresses `connect` tries.
///
/// This is the seam for the non-blocking DNS resolver (nginx's `resolver` directive); the
/// engine only calls `resolve` on its event loop. A result never holds zero addresses.
public protocol Resolver: AnyObject, Sendable {
    func resolve(host: String, port: Int, on eventLoop: EventLoop) -> ResolveResult
}
