import CosocketCore
import NIOCore

extension TCPSocket {
    /// The keepalive pools' figures for `eventLoop`'s worker, keyed by pool name.
    ///
    /// Pools are per event loop (per worker), as in nginx, so the figures are too.
    public static func poolStatistics(on eventLoop: EventLoop) async -> [String: PoolStatistics] {
        let engine = CosocketEngine.forEventLoop(eventLoop)
        if eventLoop.inEventLoop { return engine.pools.allStatistics }
        return await withUnsafeContinuation { continuation in
            eventLoop.execute { continuation.resume(returning: engine.pools.allStatistics) }
        }
    }
}
