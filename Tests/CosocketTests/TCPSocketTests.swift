import Cosocket
import CosocketCore
import Foundation
import NIOCore
import NIOPosix
import CosocketTestSupport
import Testing

/// The error an operation threw, or `nil` when it succeeded.
func failure<T>(_ body: () async throws -> T) async -> CosocketError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return (error as? CosocketError) ?? .badArgument("unexpected error: \(error)")
    }
}

extension ByteBuffer {
    var text: String { String(buffer: self) }
}

@Suite struct TCPSocketTests {
    let echo = TestListener { Peer.echo($0) }

    @Test(arguments: Transport.allCases) func connectSendReceiveLineAndClose(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        #expect(try await socket.send("hello\r\nworld\n") == 13)
        #expect(try await socket.receive(.line).text == "hello")
        #expect(try await socket.receive(.line).text == "world")
        try await socket.close()
        #expect(await failure { try await socket.close() }?.message == "closed")
    }

    @Test(arguments: Transport.allCases) func connectRefused(_ transport: Transport) async throws {
        let port = freePort()
        let socket = transport.makeSocket()
        let error = await failure { try await socket.connect(host: "127.0.0.1", port: port) }
        #expect(error?.message == "connection refused")
        #expect(await failure { try await socket.send("x") }?.message == "closed")
    }

    @Test(arguments: Transport.allCases) func unixDomainSocket(_ transport: Transport) async throws {
        let path = "/tmp/cosocket-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let listener = TestListener(unixPath: path) { Peer.echo($0) }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(unixPath: path)
        try await socket.send("via unix\n")
        #expect(try await socket.receive(.line).text == "via unix")
        try await socket.close()

        let missing = await failure { try await socket.connect(unixPath: "/tmp/no-such-cosocket.sock") }
        #expect(missing?.message == "no such file or directory")
    }

    @Test(arguments: Transport.allCases) func connectTimeoutAgainstFullAcceptQueue(_ transport: Transport) async throws {
        let listener = TestListener(backlog: 0, acceptConnections: false) { _ in }
        defer { listener.stop() }
        // Fill the accept queue: later SYNs are dropped and connects hang.
        var fillers: [TCPSocket] = []
        for _ in 0..<4 {
            let filler = transport.makeSocket()
            await filler.setTimeout(.milliseconds(100))
            _ = await failure { try await filler.connect(host: "127.0.0.1", port: listener.port) }
            fillers.append(filler)
        }
        let socket = transport.makeSocket()
        await socket.setTimeouts(connect: .milliseconds(150), send: nil, read: nil)
        let started = NIODeadline.now()
        let error = await failure { try await socket.connect(host: "127.0.0.1", port: listener.port) }
        #expect(error?.message == "timeout")
        #expect(NIODeadline.now() - started < .seconds(5))
    }

    @Test(arguments: Transport.allCases) func badPortsAndHosts(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        #expect(await failure { try await socket.connect(host: "127.0.0.1", port: 0) } != nil)
        #expect(await failure { try await socket.connect(host: "127.0.0.1", port: 65536) } != nil)
        #expect(await failure { try await socket.connect(host: "", port: 80) }?.message == "failed to parse host name \"\": no host")
        // The reference's words: with the system resolver off (on, the name would go to the
        // machine's nameservers, which no test may ask; SystemResolverTests has it on).
        let reference = TCPSocket(engine: SystemResolverTests.engine(transport) { $0.systemResolver = false })
        let unresolved = await failure { try await reference.connect(host: "no-such-host.invalid", port: 80) }
        #expect(unresolved?.message == "no resolver defined to resolve \"no-such-host.invalid\"")
    }

    @Test(arguments: Transport.allCases) func localhostResolvesFromHostsFile(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        try await socket.connect(host: "localhost", port: echo.port)
        try await socket.send("hi\n")
        #expect(try await socket.receive(.line).text == "hi")
    }

    @Test(arguments: Transport.allCases) func reconnectClosesThePreviousConnection(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        try await socket.send("again\n")
        #expect(try await socket.receive(.line).text == "again")
    }

    @Test(arguments: Transport.allCases) func sizedAllAnyAndLinePatterns(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            Peer.send(fd, "abcdefg\rh\r\nrest of the stream")
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        #expect(try await socket.receive(.bytes(3)).text == "abc")
        #expect(try await socket.receive(.bytes(0)).text == "")
        #expect(try await socket.receive(.line).text == "defgh")
        #expect(try await socket.receiveAny(max: 4).text == "rest")
        #expect(try await socket.receive(.all).text == " of the stream")
        #expect(try await socket.receive(.all).text == "")
        #expect(await failure { try await socket.receive(.line) }?.message == "closed")
    }

    @Test(arguments: Transport.allCases) func badReadArguments(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        #expect(await failure { try await socket.receive(.bytes(-1)) } != nil)
        #expect(await failure { try await socket.receiveAny(max: 0) } != nil)
        #expect(await failure { try socket.receiveUntil([UInt8]()) } != nil)
        try await socket.send("still fine\n")
        #expect(try await socket.receive(.line).text == "still fine")
    }

    @Test(arguments: Transport.allCases) func receiveUntilStraddlingAndOverlapping(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            for piece in ["hea", "der---a", "b--abcbody", "\r\n--", "abc", "tail"] {
                Peer.send(fd, piece)
                Peer.sleep(milliseconds: 10)
            }
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        let boundary = try socket.receiveUntil(Array("--abc".utf8))
        #expect(try await boundary.next()?.text == "header---ab")
        #expect(try await boundary.next()?.text == "body\r\n")
        let error = await failure { try await boundary.next() }
        #expect(error?.message == "closed")
        #expect(error?.partial.text == "tail")
    }

    @Test(arguments: Transport.allCases) func receiveUntilSizedAndInclusive(_ transport: Transport) async throws {
        let listener = TestListener { fd in Peer.send(fd, "0123456789--B|x|y") }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        let chunks = try socket.receiveUntil(Array("--B".utf8))
        #expect(try await chunks.next(limit: 4)?.text == "0123")
        #expect(try await chunks.next(limit: 4)?.text == "4567")
        #expect(try await chunks.next(limit: 4)?.text == "89")
        #expect(try await chunks.next(limit: 4) == nil)
        let inclusive = try socket.receiveUntil(Array("|".utf8), inclusive: true)
        #expect(try await inclusive.next()?.text == "|")
        #expect(try await inclusive.next()?.text == "x|")
        #expect(try await socket.receive(.all).text == "y")
    }

    @Test(arguments: Transport.allCases) func closedMidLineCarriesPartial(_ transport: Transport) async throws {
        let listener = TestListener { fd in Peer.send(fd, "hello wor") }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        let error = await failure { try await socket.receive(.line) }
        #expect(error == .closed(partial: ByteBuffer(string: "hello wor")))
        #expect(await failure { try await socket.receive(.line) }?.message == "closed")
    }

    @Test(arguments: Transport.allCases) func resetByPeer(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            _ = Peer.receiveLine(fd)
            Peer.send(fd, "partial")
            Peer.sleep(milliseconds: 50)
            Peer.reset(fd)
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        try await socket.send("go\n")
        let error = await failure { try await socket.receive(.bytes(100)) }
        #expect(error?.message == "connection reset by peer")
        #expect(error?.partial.text == "partial")
    }

    @Test(arguments: Transport.allCases) func readTimeoutIsNotFatal(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            _ = Peer.receiveLine(fd)
            Peer.send(fd, "hello ")
            // Well past the 100 ms read timeout, also when a loaded machine delays the loop.
            Peer.sleep(milliseconds: 3000)
            Peer.send(fd, "world\r\n")
            _ = Peer.receiveLine(fd)
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        await socket.setTimeouts(connect: nil, send: nil, read: .milliseconds(100))
        try await socket.send("go\n")
        let error = await failure { try await socket.receive(.line) }
        #expect(error == .timeout(partial: ByteBuffer(string: "hello ")))
        await socket.setTimeout(.seconds(5))
        #expect(try await socket.receive(.line).text == "world")
        try await socket.send("bye\n")
    }

    @Test(arguments: Transport.allCases) func sendTimeoutClosesTheSocket(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            var small: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            Peer.waitForClientClose(fd)
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        await socket.setTimeouts(connect: nil, send: .milliseconds(150), read: nil)
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: 32 * 1024 * 1024)
        let error = await failure { try await socket.send(payload) }
        #expect(error?.message == "timeout")
        // As in the reference, the timeout shuts the write side only.
        #expect(await failure { try await socket.send("x") }?.message == "closed")
        try await socket.close()
    }

    @Test(arguments: Transport.allCases) func secondReaderIsBusyAndDuplexWorks(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            let line = Peer.receiveLine(fd) ?? ""
            Peer.sleep(milliseconds: 100)
            Peer.send(fd, "got \(line)\n")
        }
        defer { listener.stop() }
        let loop = transport.sharedLoop
        let socket = TCPSocket(eventLoop: loop)
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        async let firstRead = socket.receive(.line)
        try await Task.sleep(for: .milliseconds(30))
        let busy = await failure { try await socket.receive(.line) }
        #expect(busy?.message == "socket busy reading")
        // The first read is still waiting; a send goes through meanwhile (full duplex).
        try await socket.send("ping\n")
        #expect(try await firstRead.text == "got ping")
    }

    @Test(arguments: Transport.allCases) func shutdownWriteHalfCloses(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        try await socket.send("before shutdown")
        try await socket.shutdownWrite()
        #expect(try await socket.receive(.all).text == "before shutdown")
    }

    @Test(arguments: Transport.allCases) func bindChoosesTheSourceAddress(_ transport: Transport) async throws {
        let seen = LockedBox<String>("")
        let listener = TestListener { fd in
            seen.set(Peer.remoteAddress(fd))
            Peer.send(fd, "ok\n")
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.bind(host: "127.0.0.2")
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        #expect(try await socket.receive(.line).text == "ok")
        #expect(seen.get() == "127.0.0.2")
        #expect(await failure { try await transport.makeSocket().bind(host: "not an ip") } != nil)
    }

    @Test(arguments: Transport.allCases) func socketOptions(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        #expect(await failure { try await socket.setOption(.keepalive, value: 1) }?.message == "closed")
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        try await socket.setOption(.keepalive, value: 1)
        #expect(try await socket.getOption(.keepalive) == 1)
        try await socket.setOption(.reuseaddr, value: 1)
        try await socket.setOption(.tcpNoDelay, value: 1)
        #expect(try await socket.getOption(.tcpNoDelay) == 1)
        try await socket.setOption(.sndbuf, value: 65536)
        try await socket.setOption(.rcvbuf, value: 65536)
        #expect(try await socket.getOption(.sndbuf) >= 65536)
        #expect(TCPSocketOption(rawValue: "tcp-nodelay") == .tcpNoDelay)
    }

    @Test(arguments: Transport.allCases) func operationsAfterClose(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        #expect(await failure { try await socket.receive(.line) }?.message == "closed")
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        try await socket.close()
        #expect(await failure { try await socket.send("x") }?.message == "closed")
        #expect(await failure { try await socket.receive(.bytes(1)) }?.message == "closed")
        #expect(await failure { try await socket.setKeepalive() }?.message == "closed")
        #expect(await failure { try await socket.reusedTimes() }?.message == "closed")
        #expect(await failure { try await socket.shutdownWrite() }?.message == "closed")
    }

    @Test(arguments: Transport.allCases) func gatheringSendOfFragments(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        let fragments = ["a", "bc", "", "def", "\n"].map { ByteBuffer(string: $0) }
        #expect(try await socket.send(contentsOf: fragments) == 7)
        #expect(try await socket.receive(.line).text == "abcdef")
    }

    /// More buffers than one `sendmsg` takes (`IOV_MAX`, 1024) still all go out.
    @Test(arguments: Transport.allCases) func gatheringSendBeyondOneSystemCall(_ transport: Transport) async throws {
        let socket = transport.makeSocket()
        await socket.setTimeout(.seconds(5))
        try await socket.connect(host: "127.0.0.1", port: echo.port)
        var fragments = (0..<3000).map { ByteBuffer(string: String($0 % 10)) }
        fragments.append(ByteBuffer(string: "\n"))
        #expect(try await socket.send(contentsOf: fragments) == 3001)
        let line = try await socket.receive(.line).text
        #expect(line.count == 3000)
        #expect(line.hasPrefix("0123456789012"))
    }

    /// Tasks that prefer the loop's executor are resumed from inside the readiness drain; the
    /// loop must still run them at once (not at its next unrelated wake-up).
    @Test(arguments: Transport.allCases) func roundTripsOnTheLoopsOwnExecutor(_ transport: Transport) async throws {
        let loop = transport.sharedLoop
        let port = echo.port
        let elapsed = try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            let socket = TCPSocket(eventLoop: loop)
            // A task left waiting for the loop's next wake-up would wait for this timer.
            await socket.setTimeout(.seconds(5))
            try await socket.connect(host: "127.0.0.1", port: port)
            let started = NIODeadline.now()
            for round in 0..<5 {
                try await socket.send("round \(round)\n")
                #expect(try await socket.receive(.line).text == "round \(round)")
            }
            let elapsed = NIODeadline.now() - started
            try await socket.close()
            return elapsed
        }
        #expect(elapsed < .milliseconds(2500))
    }

    @Test(arguments: Transport.allCases) func theTransportIsTheLoopsKind(_ transport: Transport) {
        #expect(CosocketEngine.forEventLoop(transport.sharedLoop).usesDescriptorTransport == (transport == .descriptor))
    }

    @Test(arguments: Transport.allCases) func readMemoryIsBoundedByTheRequest(_ transport: Transport) async throws {
        let listener = TestListener { fd in
            let block = [UInt8](repeating: 65, count: 1 << 20)
            for _ in 0..<16 { Peer.send(fd, block) }
        }
        defer { listener.stop() }
        let socket = transport.makeSocket()
        try await socket.connect(host: "127.0.0.1", port: listener.port)
        #expect(try await socket.receive(.bytes(10)).readableBytes == 10)
        try await Task.sleep(for: .milliseconds(100))
        // Reads stop once the request is served: far less than the 16 MiB the peer offers.
        #expect(await socket.bufferedByteCount < 256 * 1024)
        var total = 10
        while total < 16 << 20 {
            total += try await socket.receive(.bytes(min(65536, (16 << 20) - total))).readableBytes
        }
        #expect(total == 16 << 20)
    }
}

final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
