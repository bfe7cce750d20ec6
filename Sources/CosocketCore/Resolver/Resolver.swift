import NIOCore

/// The outcome of a name lookup: most lookups (literals, hosts file, cache) finish at once,
/// so only a real query pays for a future.
public enum ResolveResult: Sendable {
    case resolved(SocketAddress)
    case failed(CosocketError)
    case pending(EventLoopFuture<SocketAddress>)
}

/// Turns a host name into an address for `connect`.
///
/// This is the seam for the non-blocking DNS resolver (nginx's `resolver` directive); the
/// engine only calls `resolve` on its event loop.
public protocol Resolver: AnyObject, Sendable {
    func resolve(host: String, port: Int, on eventLoop: EventLoop) -> ResolveResult
}
