import NIOConcurrencyHelpers
import NIOCore

/// The cosocket machinery of one worker: its event loop, configuration, resolver and
/// keepalive pools, like the per-worker state of an nginx worker.
///
/// Everything here runs on ``eventLoop``; nothing is shared with other workers, so the hot
/// path takes no lock. The registry lookup in ``forEventLoop(_:)`` locks once per socket
/// creation from Swift code that does not hold its engine.
public final class CosocketEngine: @unchecked Sendable {
    public let eventLoop: EventLoop
    public var configuration: EngineConfiguration
    public let resolver: any Resolver
    public let pools: ConnectionPools
    /// Socket timeouts and pooled connections' idle deadlines.
    let timers: EngineTimers

    public init(eventLoop: EventLoop, configuration: EngineConfiguration = EngineConfiguration(), resolver: (any Resolver)? = nil) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.resolver = resolver ?? HostsFileResolver()
        let timers = EngineTimers(eventLoop: eventLoop)
        self.timers = timers
        self.pools = ConnectionPools(eventLoop: eventLoop, timers: timers, defaultPoolSize: configuration.poolSize)
    }

    private static let registry = NIOLockedValueBox<[ObjectIdentifier: CosocketEngine]>([:])

    /// The engine of `eventLoop`, created with default settings on first use.
    public static func forEventLoop(_ eventLoop: EventLoop) -> CosocketEngine {
        registry.withLockedValue { engines in
            if let engine = engines[ObjectIdentifier(eventLoop)] { return engine }
            let engine = CosocketEngine(eventLoop: eventLoop)
            engines[ObjectIdentifier(eventLoop)] = engine
            return engine
        }
    }

    /// Installs `engine` as its loop's engine (a server does this for each worker at start).
    public static func register(_ engine: CosocketEngine) {
        registry.withLockedValue { $0[ObjectIdentifier(engine.eventLoop)] = engine }
    }
}
