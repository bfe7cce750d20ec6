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
    #if os(Linux)
    /// The loop's readiness set, on a ``CosocketEventLoopGroup`` loop: upstream connections
    /// then use descriptors of their own instead of NIO channels.
    let poller: DescriptorPoller?
    /// The TLS client contexts built so far, by the settings they were built from; touched on
    /// the engine's loop only.
    private var tlsContexts: [TLSConfiguration: Result<TLSContext, TLSContext.BuildError>] = [:]

    /// The client context for `configuration` (built once, then shared by every handshake that
    /// uses the same settings).
    public func tlsContext(for configuration: TLSConfiguration) -> Result<TLSContext, TLSContext.BuildError> {
        let key = configuration.contextKey
        if let context = tlsContexts[key] { return context }
        let context: Result<TLSContext, TLSContext.BuildError>
        do {
            context = .success(try TLSContext(key))
        } catch {
            context = .failure(error)
        }
        tlsContexts[key] = context
        return context
    }
    #endif

    /// Resolvers of `resolver` directives in servers and locations that differ from the
    /// worker's, one per configuration (each with its cache), made on first use.
    private var scopedResolvers: [(configuration: DNSResolverConfiguration, resolver: DNSResolver)] = []
    /// A resolver given to ``init(eventLoop:configuration:resolver:)``: every socket uses it.
    private let injected: Bool
    /// The hosts file alone (read once per worker): names that are not in it fail as the
    /// reference fails them without a resolver (`lua_system_resolver off`), and it is the
    /// first step of the system resolver.
    private lazy var hostsFile: HostsFileResolver = (resolver as? HostsFileResolver) ?? HostsFileResolver()
    /// The nameservers of each resolv.conf asked for, by path (each with its cache), made on
    /// first use; the hosts file alone for a file that names none (or cannot be read).
    private var systemResolvers: [(path: String, resolver: any Resolver)] = []

    /// The resolver for sockets with `defaults`: the worker's unless a server or location set
    /// its own `resolver`/`resolver_timeout`; without any, the hosts file and then the
    /// system's nameservers (or, with `lua_system_resolver off`, the hosts file alone).
    public func resolver(for defaults: EngineConfiguration) -> any Resolver {
        if injected { return resolver }
        guard var dns = defaults.resolver else {
            return defaults.systemResolver ? systemResolver(defaults.resolvConfPath) : hostsFile
        }
        dns.timeout = defaults.resolverTimeout
        if var own = configuration.resolver {
            own.timeout = configuration.resolverTimeout
            if own == dns { return resolver }
        }
        if let found = scopedResolvers.first(where: { $0.configuration == dns }) { return found.resolver }
        let made = DNSResolver(configuration: dns)
        scopedResolvers.append((dns, made))
        return made
    }

    /// The resolver of the nameservers in the resolv.conf at `path`, read once, on first use
    /// (a blocking read of a small local file, once per worker, as glibc reads it once).
    private func systemResolver(_ path: String) -> any Resolver {
        if let found = systemResolvers.first(where: { $0.path == path }) { return found.resolver }
        let made: any Resolver
        if let dns = ResolvConf.read(path).resolverConfiguration {
            made = DNSResolver(configuration: dns, hosts: hostsFile)
        } else {
            made = hostsFile
        }
        systemResolvers.append((path, made))
        return made
    }

    public init(eventLoop: EventLoop, configuration: EngineConfiguration = EngineConfiguration(), resolver: (any Resolver)? = nil) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        injected = resolver != nil
        if let resolver {
            self.resolver = resolver
        } else if var dns = configuration.resolver {
            dns.timeout = configuration.resolverTimeout
            self.resolver = DNSResolver(configuration: dns)
        } else {
            self.resolver = HostsFileResolver()
        }
        #if os(Linux)
        let poller = CosocketEventLoopGroup.poller(for: eventLoop)
        self.poller = poller
        let timers = EngineTimers(eventLoop: eventLoop, poller: poller)
        #else
        let timers = EngineTimers(eventLoop: eventLoop)
        #endif
        self.timers = timers
        #if os(Linux)
        self.pools = ConnectionPools(eventLoop: eventLoop, timers: timers, poller: poller, defaultPoolSize: configuration.poolSize)
        #else
        self.pools = ConnectionPools(eventLoop: eventLoop, timers: timers, defaultPoolSize: configuration.poolSize)
        #endif
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

    /// Whether upstream connections use descriptors of the engine's own (see
    /// ``CosocketEventLoopGroup``) rather than NIO channels.
    public var usesDescriptorTransport: Bool {
        #if os(Linux)
        return poller != nil
        #else
        return false
        #endif
    }

    // MARK: Scheduling on the loop

    /// Runs `task` on the loop after the current work; call it on the loop. Code on the loop
    /// schedules through the engine, not the loop itself: inside a drain of the readiness set
    /// the task runs when the drain's handlers have returned, without another turn of the loop.
    public func execute(_ task: @escaping () -> Void) {
        #if os(Linux)
        if let poller, poller.runAfterHandlers(task) { return }
        #endif
        eventLoop.assumeIsolatedUnsafeUnchecked().execute(task)
    }

    /// Runs `task` after `delay`, on the loop (see ``execute(_:)``).
    @discardableResult
    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping () throws -> T) -> Scheduled<T> {
        let scheduled = eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: delay, task)
        noteLoopWork()
        return scheduled
    }

    /// Work was handed to the loop some other way (a NIO channel closed, which finishes on a
    /// later turn).
    public func noteLoopWork() {
        #if os(Linux)
        poller?.noteLoopWork()
        #endif
    }
}
