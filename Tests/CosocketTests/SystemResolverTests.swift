import Cosocket
import CosocketCore
import CosocketTestSupport
import Foundation
import NIOCore
import Testing

/// The two deliberate differences from the reference, through the Swift API, against a real
/// dnsmasq on loopback: without a `resolver`, names are looked up in the hosts file and then
/// in the nameservers of a resolv.conf (here a test's own, naming the dnsmasq: no test asks
/// the machine's nameservers); and a connect tries a name's addresses in turn.
@Suite(.serialized) struct SystemResolverTests {
    static let records = [
        "--host-record=sys.test,127.0.0.1", "--host-record=localhost,127.0.0.7", "--local-ttl=600",
        "--host-record=svc.cluster.test,127.0.0.1",
    ]

    /// A resolv.conf naming `port` on 127.0.0.1 (the extension's `ADDR:PORT`), with `extra` lines.
    static func resolvConf(port: Int, _ extra: String = "") -> String {
        let path = NSTemporaryDirectory() + "cosocket-resolv-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).conf"
        FileManager.default.createFile(atPath: path, contents: Data("nameserver 127.0.0.1:\(port)\noptions timeout:2 attempts:1\n\(extra)".utf8))
        return path
    }

    /// An engine of its own, on a loop of its own, registered for that loop.
    static func engine(_ transport: Transport, resolver: (any Resolver)? = nil, _ configure: (inout EngineConfiguration) -> Void) -> CosocketEngine {
        var configuration = EngineConfiguration()
        configure(&configuration)
        let engine = CosocketEngine(eventLoop: transport.isolatedLoop(), configuration: configuration, resolver: resolver)
        CosocketEngine.register(engine)
        return engine
    }

    /// A listener that says which it is and closes.
    static func named(_ name: String, host: String = "127.0.0.1", port: Int = 0) -> TestListener {
        TestListener(host: host, port: port) { Peer.send($0, name + "\n") }
    }

    @Test(arguments: Transport.allCases) func aNameOnlyTheSystemsNameserverKnows(_ transport: Transport) async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let path = Self.resolvConf(port: dns.port)
        defer { unlink(path) }
        let listener = Self.named("one")
        let engine = Self.engine(transport) { $0.resolvConfPath = path }
        let socket = TCPSocket(engine: engine)
        try await socket.connect(host: "sys.test", port: listener.port)
        #expect(try await socket.receive(.line).text == "one")
        let udp = UDPSocket(engine: engine)
        try await udp.setPeer(host: "SYS.test.", port: 9)
        let missing = await failure { try await socket.connect(host: "nx.test", port: listener.port) }
        #expect(missing?.message == "nx.test could not be resolved (3: Host not found)")
    }

    @Test(arguments: Transport.allCases) func offRefusesNamesAsTheReferenceDoes(_ transport: Transport) async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let path = Self.resolvConf(port: dns.port)
        defer { unlink(path) }
        let listener = Self.named("one")
        let engine = Self.engine(transport) {
            $0.resolvConfPath = path
            $0.systemResolver = false
        }
        let socket = TCPSocket(engine: engine)
        let refused = await failure { try await socket.connect(host: "sys.test", port: listener.port) }
        #expect(refused?.message == "no resolver defined to resolve \"sys.test\"")
        let udp = UDPSocket(engine: engine)
        #expect(await failure { try await udp.setPeer(host: "sys.test", port: 9) }?.message == "no resolver defined to resolve \"sys.test\"")
        // The hosts file still answers.
        try await socket.connect(host: "localhost", port: listener.port)
        #expect(try await socket.receive(.line).text == "one")
    }

    @Test(arguments: Transport.allCases) func theHostsFileComesFirst(_ transport: Transport) async throws {
        // dnsmasq says localhost is 127.0.0.7 (nothing listens there); /etc/hosts wins.
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let path = Self.resolvConf(port: dns.port)
        defer { unlink(path) }
        let listener = Self.named("hosts")
        let socket = TCPSocket(engine: Self.engine(transport) { $0.resolvConfPath = path })
        try await socket.connect(host: "localhost", port: listener.port)
        #expect(try await socket.receive(.line).text == "hosts")
    }

    @Test func aFileWithoutNameserversIsTheHostsFileAlone() async throws {
        let path = NSTemporaryDirectory() + "cosocket-resolv-empty-\(getpid()).conf"
        FileManager.default.createFile(atPath: path, contents: Data("# nothing\nsearch test\n".utf8))
        defer { unlink(path) }
        for path in [path, "/nonexistent/resolv.conf"] {
            let socket = TCPSocket(engine: Self.engine(.descriptor) { $0.resolvConfPath = path })
            #expect(await failure { try await socket.connect(host: "sys.test", port: 9) }?.message == "no resolver defined to resolve \"sys.test\"")
        }
    }

    @Test func theSearchListCompletesShortNames() async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let path = Self.resolvConf(port: dns.port, "search nowhere.test cluster.test\n")
        defer { unlink(path) }
        let listener = Self.named("svc")
        let socket = TCPSocket(engine: Self.engine(.descriptor) { $0.resolvConfPath = path })
        // svc.nowhere.test is not found, svc.cluster.test is.
        try await socket.connect(host: "svc", port: listener.port)
        #expect(try await socket.receive(.line).text == "svc")
        // Not found in either domain, then refused as written (dnsmasq answers for .test
        // only): the last name's answer is the lookup's.
        let missing = await failure { try await socket.connect(host: "nosuch", port: listener.port) }
        #expect(missing?.message == "nosuch could not be resolved (5: Operation refused)")
    }

    // MARK: Connect fallback

    /// multi.test's addresses in a fixed order (a hosts file of the test's own).
    static func hosts(_ addresses: [String]) -> HostsFileResolver {
        HostsFileResolver(hostsFileContents: addresses.map { "\($0) multi.test\n" }.joined())
    }

    @Test(arguments: Transport.allCases) func aRefusedAddressIsPassedOver(_ transport: Transport) async throws {
        let live = Self.named("three", host: "127.0.0.3")
        let dead = RefusingPort(host: "127.0.0.2", port: live.port)
        _ = dead
        let engine = Self.engine(transport, resolver: Self.hosts(["127.0.0.2", "127.0.0.3"])) { _ in }
        let socket = TCPSocket(engine: engine)
        try await socket.connect(host: "multi.test", port: live.port)
        #expect(try await socket.receive(.line).text == "three")
        // One connection in use, nothing left connecting: the refused attempt cost no slot.
        let connected = await TCPSocket.poolStatistics(on: engine.eventLoop)
        #expect(connected.values.map(\.inUse) == [1])
        #expect(connected.values.map(\.connecting) == [0])
        try await socket.close()
        // Only refusals: the last address's error; the pool's slot is given back once.
        let alsoDead = RefusingPort(host: "127.0.0.4", port: live.port)
        _ = alsoDead
        let allDead = Self.engine(transport, resolver: Self.hosts(["127.0.0.2", "127.0.0.4"])) { _ in }
        let failing = TCPSocket(engine: allDead)
        #expect(await failure { try await failing.connect(host: "multi.test", port: live.port) }?.message == "connection refused")
        let statistics = await TCPSocket.poolStatistics(on: allDead.eventLoop)
        #expect(statistics.values.allSatisfy { $0.connecting == 0 && $0.inUse == 0 })
    }

    /// Through the system resolver: dnsmasq gives four addresses (in an order of its own),
    /// three of them refused. With fallback every connect finds the live one; without, each
    /// tries one picked at random, as the reference does.
    @Test(arguments: Transport.allCases) func fallbackOnFindsTheLiveAddressOffPicksOne(_ transport: Transport) async throws {
        let live = Self.named("five", host: "127.0.0.5")
        let dead = (2...4).map { RefusingPort(host: "127.0.0.\($0)", port: live.port) }
        // (One address a --host-record: more of one family replace each other.)
        let dns = try ExternalServer(.dnsmasq((2...5).map { "--host-record=multi.test,127.0.0.\($0)" } + ["--local-ttl=600"]))
        let path = Self.resolvConf(port: dns.port)
        defer { unlink(path) }
        let on = TCPSocket(engine: Self.engine(transport) { $0.resolvConfPath = path })
        for _ in 0..<8 {
            try await on.connect(host: "multi.test", port: live.port)
            #expect(try await on.receive(.line).text == "five")
        }
        let off = TCPSocket(engine: Self.engine(transport) {
            $0.resolvConfPath = path
            $0.connectFallback = false
        })
        var refused = 0, reached = 0
        for _ in 0..<40 {
            if let error = await failure({ try await off.connect(host: "multi.test", port: live.port) }) {
                #expect(error.message == "connection refused")
                refused += 1
            } else {
                reached += 1
            }
        }
        #expect(refused > 0 && reached > 0, "\(refused) refused, \(reached) reached")
        _ = dead
    }

    /// A listener whose accept queue is full drops SYNs: connects to it hang. The fillers
    /// that fill it must stay alive as long as it.
    static func mute(host: String, port: Int = 0) async -> (listener: TestListener, fillers: [TCPSocket]) {
        let listener = TestListener(host: host, port: port, backlog: 0, acceptConnections: false) { _ in }
        var fillers: [TCPSocket] = []
        for _ in 0..<4 {
            let filler = TCPSocket(eventLoop: Transport.descriptor.sharedLoop)
            await filler.setTimeout(.milliseconds(100))
            _ = await failure { try await filler.connect(host: host, port: listener.port) }
            fillers.append(filler)
        }
        return (listener, fillers)
    }

    @Test(arguments: Transport.allCases) func aMuteAddressIsGivenUpAtItsShare(_ transport: Transport) async throws {
        let (mute, fillers) = await Self.mute(host: "127.0.0.2")
        defer { mute.stop() }
        let live = Self.named("three", host: "127.0.0.3", port: mute.port)
        defer { _ = fillers }
        let socket = TCPSocket(engine: Self.engine(transport, resolver: Self.hosts(["127.0.0.2", "127.0.0.3"])) { _ in })
        await socket.setTimeouts(connect: .milliseconds(800), send: nil, read: nil)
        let started = NIODeadline.now()
        try await socket.connect(host: "multi.test", port: live.port)
        let elapsed = NIODeadline.now() - started
        #expect(try await socket.receive(.line).text == "three")
        // The first address had half of the timeout.
        #expect(elapsed >= .milliseconds(350), "\(elapsed)")
        #expect(elapsed < .milliseconds(800), "\(elapsed)")
    }

    @Test(arguments: Transport.allCases) func allMuteTimesOutAtTheConnectTimeout(_ transport: Transport) async throws {
        let (first, fillers) = await Self.mute(host: "127.0.0.2")
        defer { first.stop() }
        let (second, moreFillers) = await Self.mute(host: "127.0.0.4", port: first.port)
        defer { second.stop() }
        defer { _ = fillers + moreFillers }
        let engine = Self.engine(transport, resolver: Self.hosts(["127.0.0.2", "127.0.0.4"])) { _ in }
        let socket = TCPSocket(engine: engine)
        await socket.setTimeouts(connect: .milliseconds(500), send: nil, read: nil)
        let started = NIODeadline.now()
        #expect(await failure { try await socket.connect(host: "multi.test", port: first.port) }?.message == "timeout")
        let elapsed = NIODeadline.now() - started
        #expect(elapsed >= .milliseconds(450), "\(elapsed)")
        #expect(elapsed < .seconds(3), "\(elapsed)")
        let statistics = await TCPSocket.poolStatistics(on: engine.eventLoop)
        #expect(statistics.values.allSatisfy { $0.connecting == 0 && $0.inUse == 0 })
    }

    @Test(arguments: Transport.allCases) func v6AndV4AreBothTried(_ transport: Transport) async throws {
        // ::1 refuses (nothing listens there on this port); 127.0.0.1 answers, whichever leads.
        let live = Self.named("four")
        let socket = TCPSocket(engine: Self.engine(transport, resolver: HostsFileResolver(hostsFileContents: "::1 multi.test\n127.0.0.1 multi.test\n")) { _ in })
        try await socket.connect(host: "multi.test", port: live.port)
        #expect(try await socket.receive(.line).text == "four")
    }

    /// Aborting a connect between attempts (the request went away) closes the attempt in
    /// progress, opens no further address, reports nothing and gives the pool slot back.
    @Test(arguments: Transport.allCases) func anAbortDuringTheAttemptsStopsThem(_ transport: Transport) async throws {
        let (mute, fillers) = await Self.mute(host: "127.0.0.2")
        defer { mute.stop() }
        defer { _ = fillers }
        let accepted = Counter()
        let live = TestListener(host: "127.0.0.3", port: mute.port) { _ in accepted.add() }
        let engine = Self.engine(transport, resolver: Self.hosts(["127.0.0.2", "127.0.0.3"])) { _ in }
        let recorder = ConnectRecorder()
        let socket = StreamSocket(engine: engine)
        socket.delegate = recorder
        socket.timeouts.connect = .milliseconds(600)
        // The abort is a timer on the same loop as the attempt's share (300 ms), so it comes
        // first however loaded the machine is.
        let aborted = try await engine.eventLoop.submit {
            #expect(socket.connect(to: .host("multi.test", port: live.port)) == nil)
            return engine.eventLoop.scheduleTask(in: .milliseconds(100)) { socket.abort() }.futureResult
        }.get()
        try await aborted.get()
        // Past the first address's share, and past the whole timeout.
        try await Task.sleep(for: .milliseconds(800))
        #expect(accepted.value == 0)
        #expect(recorder.results.value == 0)
        let statistics = await TCPSocket.poolStatistics(on: engine.eventLoop)
        #expect(statistics.values.allSatisfy { $0.connecting == 0 && $0.inUse == 0 })
        // The socket connects again afterwards, to the live address after the mute one.
        let again = ConnectRecorder()
        socket.delegate = again
        try await engine.eventLoop.submit {
            #expect(socket.connect(to: .host("multi.test", port: live.port)) == nil)
        }.get()
        #expect(await again.waitForResult(seconds: 3) == "success")
        try await engine.eventLoop.submit { socket.abort() }.get()
    }
}

/// A count shared with a listener's threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// Records a raw socket's connect results.
final class ConnectRecorder: StreamSocketDelegate, @unchecked Sendable {
    let results = Counter()
    private let lock = NSLock()
    private var last: String?

    func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>) {
        results.add()
        lock.withLock {
            switch result {
            case .success: last = "success"
            case .failure(let error): last = error.message
            }
        }
    }

    func waitForResult(seconds: Double) async -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let last = lock.withLock({ last }) { return last }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome) {}
    func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>) {}
}
