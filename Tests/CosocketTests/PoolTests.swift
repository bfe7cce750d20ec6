import Cosocket
import CosocketCore
import NIOCore
import NIOPosix
import CosocketTestSupport
import Testing

/// Keepalive pools through the Swift API, against real servers.
@Suite struct PoolTests {

    @Test(arguments: Transport.allCases) func reuseCountsAcrossSequentialBorrows(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let inspector = redis.inspector()
        try await inspector.waitUntilAlone()
        for round in 0..<20 {
            let socket = TCPSocket(eventLoop: loop)
            try await socket.connect(host: "127.0.0.1", port: redis.port)
            #expect(try await socket.reusedTimes() == round)
            try await socket.send("PING\r\n")
            #expect(try await socket.receive(.line).text == "+PONG")
            try await socket.setKeepalive()
            #expect(await failure { try await socket.send("x") }?.message == "closed")
        }
        let stats = try #require(await TCPSocket.poolStatistics(on: loop)["127.0.0.1:\(redis.port)"])
        #expect(stats.totalCreated == 1)
        #expect(stats.totalReused == 19)
        #expect(stats.idle == 1)
        // The server's own view: the pooled connection and this inspection connection.
        #expect(inspector.connectedClients() == 2)
    }

    @Test(arguments: Transport.allCases) func twoHundredBorrowersShareEightConnections(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let options = PoolOptions(size: 8, backlog: 256)
        let peak = LockedBox(0)
        let inspector = redis.inspector()
        try await inspector.waitUntilAlone()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { [loop] in
                    let socket = TCPSocket(eventLoop: loop)
                    try await socket.connect(host: "127.0.0.1", port: redis.port, pool: options)
                    let value = "value-\(index)"
                    try await socket.send("*3\r\n$3\r\nSET\r\n$\(3 + "\(index)".count)\r\nkey\(index)\r\n$\(value.utf8.count)\r\n\(value)\r\n")
                    #expect(try await socket.receive(.line).text == "+OK")
                    try await socket.send("*2\r\n$3\r\nGET\r\n$\(3 + "\(index)".count)\r\nkey\(index)\r\n")
                    #expect(try await socket.receive(.line).text == "$\(value.utf8.count)")
                    #expect(try await socket.receive(.line).text == value)
                    if index % 25 == 0 {
                        // The server's own count, through one long-lived inspection connection.
                        let count = inspector.connectedClients()
                        peak.set(max(peak.get(), count - 1))
                    }
                    try await socket.setKeepalive()
                }
            }
            try await group.waitForAll()
        }
        let stats = try #require(await TCPSocket.poolStatistics(on: loop)["127.0.0.1:\(redis.port)"])
        #expect(stats.totalCreated <= 8)
        #expect(stats.totalCreated + stats.totalReused == 200)
        #expect(stats.waiting == 0)
        #expect(peak.get() <= 8)
        #expect(peak.get() >= 1)
    }

    @Test(arguments: Transport.allCases) func killedServerEmptiesThePool(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let memcached = try ExternalServer(.memcached)
        let port = memcached.port
        var sockets: [TCPSocket] = []
        for _ in 0..<3 {
            let socket = TCPSocket(eventLoop: loop)
            try await socket.connect(host: "127.0.0.1", port: port)
            sockets.append(socket)
        }
        for socket in sockets { try await socket.setKeepalive() }
        #expect(await TCPSocket.poolStatistics(on: loop)["127.0.0.1:\(port)"]?.idle == 3)
        memcached.stop()
        try await Self.waitForPool(key: "127.0.0.1:\(port)", on: loop) { $0.closedByPeer == 3 }
        let stats = try #require(await TCPSocket.poolStatistics(on: loop)["127.0.0.1:\(port)"])
        #expect(stats.idle == 0)
        #expect(stats.closedByPeer == 3)
        // No borrower gets a dead connection: the connect itself fails.
        let socket = TCPSocket(eventLoop: loop)
        #expect(await failure { try await socket.connect(host: "127.0.0.1", port: port) }?.message == "connection refused")
    }

    @Test(arguments: Transport.allCases) func idleTimeoutClosesPooledConnections(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let socket = TCPSocket(eventLoop: loop)
        try await socket.connect(host: "127.0.0.1", port: echo.port, pool: PoolOptions(name: "short-lived"))
        try await socket.setKeepalive(idleTimeout: .milliseconds(50))
        try await Self.waitForPool(key: "short-lived", on: loop) { $0.closedByIdleTimeout == 1 }
        let stats = try #require(await TCPSocket.poolStatistics(on: loop)["short-lived"])
        #expect(stats.idle == 0)
        #expect(stats.closedByIdleTimeout == 1)
    }

    @Test(arguments: Transport.allCases) func unreadDataRefusesKeepalive(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let socket = TCPSocket(eventLoop: loop)
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        try await socket.send("two\nlines\n")
        #expect(try await socket.receive(.bytes(2)).text == "tw")
        #expect(await failure { try await socket.setKeepalive() }?.message == "unread data in buffer")
        // Still usable after the refusal.
        #expect(try await socket.receive(.line).text == "o")
    }

    @Test(arguments: Transport.allCases) func unreadBytesInTheKernelAreDubious(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let socket = TCPSocket(eventLoop: loop)
        try await socket.connect(host: "127.0.0.1", port: echo.port, pool: PoolOptions(name: "dubious"))
        try await socket.send("nobody reads this\n")
        // Until the echo is back (buffered, or at least in the kernel once anything is).
        for _ in 0..<500 where await socket.bufferedByteCount == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await failure { try await socket.setKeepalive() }?.message == "connection in dubious state")
        // Refused and closed, as in the reference; nothing was pooled.
        #expect(await failure { try await socket.send("x") }?.message == "closed")
        #expect(await TCPSocket.poolStatistics(on: loop)["dubious"]?.idle ?? 0 == 0)
    }

    @Test(arguments: Transport.allCases) func poolNameSharesAndSplitsPools(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let first = TCPSocket(eventLoop: loop)
        try await first.connect(host: "127.0.0.1", port: echo.port, pool: PoolOptions(name: "shared"))
        try await first.setKeepalive()
        // Another address under the same pool name reuses the pooled connection.
        let second = TCPSocket(eventLoop: loop)
        try await second.connect(host: "127.0.0.1", port: freePort(), pool: PoolOptions(name: "shared"))
        #expect(try await second.reusedTimes() == 1)
        try await second.send("through shared\n")
        #expect(try await second.receive(.line).text == "through shared")
        // The default key does not see it.
        let third = TCPSocket(eventLoop: loop)
        try await third.connect(host: "127.0.0.1", port: echo.port)
        #expect(try await third.reusedTimes() == 0)
    }

    @Test(arguments: Transport.allCases) func backlogFullAndWaiterTimeout(_ transport: Transport) async throws {
        // Each test gets its own loop, so pools (which are per loop) do not mix.
        let loop = transport.isolatedLoop()
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let options = PoolOptions(name: "tiny", size: 1, backlog: 1)
        let holder = TCPSocket(eventLoop: loop)
        try await holder.connect(host: "127.0.0.1", port: echo.port, pool: options)
        let waiter = TCPSocket(eventLoop: loop)
        // Long enough for the rejected connect below to find it still waiting on a loaded machine.
        await waiter.setTimeouts(connect: .seconds(4), send: nil, read: nil)
        async let waited: CosocketError? = failure { try await waiter.connect(host: "127.0.0.1", port: echo.port, pool: options) }
        // Until the connect has joined the queue (a fixed sleep raced with a loaded machine).
        try await Self.waitForWaiters(1, key: "tiny", on: loop)
        let rejected = TCPSocket(eventLoop: loop)
        #expect(await failure { try await rejected.connect(host: "127.0.0.1", port: echo.port, pool: options) }?.message == "too many waiting connect operations")
        #expect(await waited?.message == "timeout")
        // Releasing the held connection serves the next waiter with it.
        let next = TCPSocket(eventLoop: loop)
        async let served: Void = next.connect(host: "127.0.0.1", port: echo.port, pool: options)
        try await Self.waitForWaiters(1, key: "tiny", on: loop)
        try await holder.setKeepalive()
        try await served
        #expect(try await next.reusedTimes() == 1)
    }

    /// Polls the pool until `count` connects wait for `key` (at most 5 s).
    static func waitForWaiters(_ count: Int, key: String, on loop: EventLoop) async throws {
        try await waitForPool(key: key, on: loop) { $0.waiting == count }
    }

    /// Polls the statistics of `key` until `condition` holds (at most 5 s): fixed sleeps lose
    /// their races on a loaded machine.
    static func waitForPool(
        key: String, on loop: EventLoop, until condition: (PoolStatistics) -> Bool
    ) async throws {
        for _ in 0..<500 {
            if let stats = await TCPSocket.poolStatistics(on: loop)[key], condition(stats) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the pool of \(key) never reached the expected state")
    }
}
