import NIOCore

/// nginx's `resolver` and `resolver_timeout` settings.
public struct DNSResolverConfiguration: Sendable, Equatable {
    public var nameservers: [SocketAddress]
    /// `ipv6=on` (nginx's default): AAAA records are asked for too.
    public var ipv6: Bool
    /// `valid=TIME`: how long answers are cached instead of their TTL.
    public var valid: TimeAmount?
    /// `resolver_timeout` (default 30 s): for the whole lookup, shared by the nameservers.
    public var timeout: TimeAmount
    /// resolv.conf's `search` domains (the `resolver` directive has none): see ``names(for:)``.
    public var search: [String]
    /// resolv.conf's `options ndots:N`.
    public var ndots: Int

    public init(
        nameservers: [SocketAddress], ipv6: Bool = true, valid: TimeAmount? = nil, timeout: TimeAmount = .seconds(30),
        search: [String] = [], ndots: Int = 1
    ) {
        self.nameservers = nameservers
        self.ipv6 = ipv6
        self.valid = valid
        self.timeout = timeout
        self.search = search
        self.ndots = ndots
    }

    /// The names a lookup of `host` asks for, in turn until one has addresses, as glibc's
    /// `res_search` orders them: a name ending in a dot as written only; one with at least
    /// ``ndots`` dots as written, then in each search domain; one with fewer in each search
    /// domain, then as written. Without search domains (every `resolver` directive): `host`.
    public func names(for host: String) -> [String] {
        guard !search.isEmpty, !host.hasSuffix(".") else { return [host] }
        let dots = host.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
        let searched = search.map { host + "." + $0 }
        return dots >= ndots ? [host] + searched : searched + [host]
    }
}

/// A non-blocking DNS client for one event loop (one per worker, like nginx's resolver): IP
/// literals and the hosts file first, then a cache of answers (every A and AAAA address, in
/// the answer's order: A first; for their TTL, or `valid=`),
/// then UDP queries to the nameservers in turn, each given a share of the timeout. Concurrent
/// lookups of one name share one query. Errors in nginx's words: `NAME could not be resolved
/// (3: Host not found)`, `(2: Server failure)`, `(110: Operation timed out)`.
///
/// Confined to its loop (``resolve(host:port:on:)`` is called there); the sockets it queries
/// with are the engine's ``DatagramSocket``s, so answers come only from the nameserver asked
/// (the socket is connected) and must also carry the query's id and question.
public final class DNSResolver: Resolver, @unchecked Sendable {
    public let configuration: DNSResolverConfiguration
    private let hosts: HostsFileResolver
    private var cache: [String: (addresses: [SocketAddress], expires: NIODeadline)] = [:]
    private var inFlight: [String: DNSLookup] = [:]
    /// Lookups that sent a query, for tests of the shared in-flight queries.
    public private(set) var queriesStarted = 0

    public init(configuration: DNSResolverConfiguration, hosts: HostsFileResolver = HostsFileResolver()) {
        self.configuration = configuration
        self.hosts = hosts
    }

    public func resolve(host: String, port: Int, on eventLoop: EventLoop) -> ResolveResult {
        switch hosts.resolve(host: host, port: port, on: eventLoop) {
        case .failed(.noResolver): break
        case let other: return other
        }
        let key = DNSName.normalized(host)
        if let entry = cache[key] {
            if entry.expires > .now(), !entry.addresses.isEmpty { return .resolved(ResolvedAddresses(entry.addresses, port: port)) }
            cache[key] = nil
        }
        let promise = eventLoop.makePromise(of: [SocketAddress].self)
        let future = promise.futureResult.map { ResolvedAddresses($0, port: port) }
        if let lookup = inFlight[key] {
            lookup.waiters.append(promise)
            return .pending(future)
        }
        let engine = CosocketEngine.forEventLoop(eventLoop)
        let lookup = DNSLookup(resolver: self, host: host, key: key, engine: engine)
        lookup.waiters.append(promise)
        inFlight[key] = lookup
        queriesStarted += 1
        // After the caller has parked: callers (the sockets) take a pending result to mean
        // "later", and a loopback nameserver can answer inside the call.
        engine.execute { lookup.start() }
        return .pending(future)
    }

    /// A lookup ended: its answer is cached and every waiter hears it.
    func finished(_ lookup: DNSLookup, _ result: Result<(addresses: [SocketAddress], ttl: UInt32), CosocketError>) {
        inFlight[lookup.key] = nil
        switch result {
        case .success(let answer):
            let lifetime = configuration.valid ?? .seconds(Int64(answer.ttl))
            if lifetime > .zero { cache[lookup.key] = (answer.addresses, .now() + lifetime) }
            for waiter in lookup.waiters { waiter.succeed(answer.addresses) }
        case .failure(let error):
            for waiter in lookup.waiters { waiter.fail(error) }
        }
        lookup.waiters = []
    }

}

/// One name's queries: A (and AAAA with `ipv6=on`) to one nameserver at a time.
final class DNSLookup: DatagramSocketDelegate {
    unowned let resolver: DNSResolver
    let host: String
    let key: String
    let engine: CosocketEngine
    var waiters: [EventLoopPromise<[SocketAddress]>] = []
    private var serverIndex = 0
    private var socket: DatagramSocket?
    private var queries: [DNSQuery] = []
    private var answered: [DNSRecordType: [[UInt8]]] = [:]
    private var ttl = UInt32.max
    private var deadline: NIODeadline = .now()
    /// The names asked for in turn (``DNSResolverConfiguration/names(for:)``), and which.
    private var names: [String] = []
    private var nameIndex = 0

    init(resolver: DNSResolver, host: String, key: String, engine: CosocketEngine) {
        self.resolver = resolver
        self.host = host
        self.key = key
        self.engine = engine
    }

    func start() {
        names = resolver.configuration.names(for: host)
        deadline = .now() + resolver.configuration.timeout
        ask(name: 0)
    }

    /// Asks for candidate `index` of ``names`` (a search domain's, or the name as written),
    /// from the first nameserver, in the time the lookup has left; a name DNS cannot carry
    /// (an empty label, too long) is not found.
    private func ask(name index: Int) {
        guard index < names.count else { return finish(.failure(.unresolved(host: host, code: 3, reason: "Host not found"))) }
        nameIndex = index
        let types: [DNSRecordType] = resolver.configuration.ipv6 ? [.a, .aaaa] : [.a]
        queries = types.map { DNSQuery(id: UInt16.random(in: 0...UInt16.max), name: names[index], type: $0) }
        ttl = UInt32.max
        guard queries.allSatisfy({ $0.encoded() != nil }), !resolver.configuration.nameservers.isEmpty else {
            return ask(name: index + 1)
        }
        serverIndex = 0
        ask(serverIndex)
    }

    /// The name being asked for was not found: the next candidate, or the lookup's failure.
    private func notFound() {
        if nameIndex + 1 < names.count { return ask(name: nameIndex + 1) }
        finish(.failure(.unresolved(host: host, code: 3, reason: "Host not found")))
    }

    /// Sends the queries to nameserver `index`, with its share of the time left.
    private func ask(_ index: Int) {
        let servers = resolver.configuration.nameservers
        guard servers.count > index, deadline > NIODeadline.now() else {
            return finish(.failure(.unresolved(host: host, code: 110, reason: "Operation timed out")))
        }
        socket?.abort()
        let socket = DatagramSocket(engine: engine)
        self.socket = socket
        socket.delegate = self
        let left = deadline - .now()
        socket.readTimeout = .nanoseconds(max(left.nanoseconds / Int64(servers.count - index), 1_000_000))
        answered = [:]
        guard case .success? = socket.connect(to: .host(servers[index].ipAddress ?? "", port: servers[index].port ?? 53)) else {
            return ask(index + 1)
        }
        for query in queries {
            guard let bytes = query.encoded() else { continue }
            _ = socket.send(ByteBuffer(bytes: bytes))
        }
        receiveNext()
    }

    private func receiveNext() {
        guard let socket else { return }
        while let result = socket.receive() {
            if handle(result) { return }
        }
    }

    /// Handles one receive; `true` when the lookup moved on (no further receive).
    private func handle(_ result: Result<ByteBuffer, CosocketError>) -> Bool {
        switch result {
        case .failure:
            // A timeout or a refusal: the next nameserver.
            serverIndex += 1
            ask(serverIndex)
            return true
        case .success(let data):
            guard let response = try? DNSResponse.decode(Array(data.readableBytesView)),
                let query = queries.first(where: { response.answers($0) }), answered[query.type] == nil
            else { return false }  // not an answer to us: dropped
            if response.isTruncated {
                // The answer did not fit in a datagram: this query again, over TCP.
                retryOverTCP(query)
                return false
            }
            return accept(response, for: query)
        }
    }

    /// Takes an answer to `query`; `true` when the lookup is over.
    private func accept(_ response: DNSResponse, for query: DNSQuery) -> Bool {
        switch response.rcode {
        case 0: break
        case 3:
            notFound()
            return true
        default:
            let reasons: [UInt8: String] = [1: "Format error", 2: "Server failure", 4: "Unimplemented", 5: "Operation refused"]
            finish(.failure(.unresolved(host: host, code: Int(response.rcode), reason: reasons[response.rcode] ?? "Unknown error")))
            return true
        }
        let found = response.addresses(of: query.type, for: names[nameIndex])
        answered[query.type] = found.addresses
        if !found.addresses.isEmpty { ttl = min(ttl, found.ttl) }
        guard answered.count == queries.count else { return false }
        let addresses = (answered[.a] ?? []).compactMap { Self.address($0) } + (answered[.aaaa] ?? []).compactMap { Self.address($0) }
        if addresses.isEmpty {
            notFound()
        } else {
            finish(.success((addresses, ttl)))
        }
        return true
    }

    private var exchanges: [DNSTCPExchange] = []

    private func retryOverTCP(_ query: DNSQuery) {
        guard let bytes = query.encoded(), let socket else { return }
        let server = resolver.configuration.nameservers[serverIndex]
        let exchange = DNSTCPExchange(engine: engine, timeout: socket.readTimeout ?? .seconds(1))
        exchanges.append(exchange)
        let index = serverIndex
        let name = nameIndex
        exchange.run(to: server, query: bytes) { [self] result in
            exchanges.removeAll { $0 === exchange }
            // Only while the same name is asked of the same nameserver.
            guard index == serverIndex, name == nameIndex, self.socket != nil else { return }
            guard case .success(let reply) = result, let response = try? DNSResponse.decode(reply), response.answers(query) else {
                serverIndex += 1
                return ask(serverIndex)
            }
            _ = accept(response, for: query)
        }
    }

    static func address(_ bytes: [UInt8]) -> SocketAddress? {
        if bytes.count == 4 { return try? SocketAddress(ipAddress: bytes.map(String.init).joined(separator: "."), port: 0) }
        guard bytes.count == 16 else { return nil }
        var text: [String] = []
        for index in stride(from: 0, to: 16, by: 2) { text.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16)) }
        return try? SocketAddress(ipAddress: text.joined(separator: ":"), port: 0)
    }

    private func finish(_ result: Result<(addresses: [SocketAddress], ttl: UInt32), CosocketError>) {
        socket?.abort()
        socket = nil
        for exchange in exchanges { exchange.abort() }
        exchanges = []
        resolver.finished(self, result)
    }

    // MARK: DatagramSocketDelegate

    func datagramSocketDidConnect(_ socket: DatagramSocket, result: Result<Void, CosocketError>) {}

    func datagramSocketDidReceive(_ socket: DatagramSocket, result: Result<ByteBuffer, CosocketError>) {
        guard socket === self.socket else { return }
        if !handle(result) { receiveNext() }
    }
}
