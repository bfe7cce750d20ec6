import Cosocket
import CosocketCore
import CosocketTestSupport
import NIOCore
import Testing

/// Fault injection against upstreams through the Swift API: the same peers and the same
/// answers as the Lua table (`UpstreamFaultRows`, checked against the reference), one row per
/// fault × operation, over both transports. Each row prints its results as the Lua rows do
/// (a value, or `nil <message> <partial>`), then the census checks that this process holds no
/// socket to the peer any more. Rows the Lua table leaves out are left out here for the same
/// reasons; the pool-and-backlog rows live in `PoolTests` and the Lua table (their answers do
/// not depend on the API).
/// Serialized: 33 fault peers at once (one of them a 100 MiB flood) starved each other past
/// their timeouts under AddressSanitizer in CI.
@Suite(.serialized) struct SwiftFaultTests {
    typealias Body = @Sendable (TCPSocket, Int) async -> [String]

    struct Row: Sendable, CustomTestStringConvertible {
        let fault: Fault
        let operation: String
        let body: Body
        let expected: [String]
        /// TLS runs on the descriptor transport only (a channel's handshake fails at once).
        var transports = Transport.allCases
        var testDescription: String { "\(fault.rawValue) × \(operation)" }
    }

    /// One call's answer in the Lua rows' words.
    static func show(_ label: String, _ call: () async throws -> String) async -> String {
        do {
            return "\(label) \(try await call())"
        } catch {
            guard let error = error as? CosocketError else { return "\(label) unexpected \(error)" }
            // A flood's partial data is shown by its size: a failure message of 100 MiB helps nobody.
            let partial = error.partial.readableBytes > 256 ? "(\(error.partial.readableBytes) bytes)" : String(buffer: error.partial)
            return "\(label) nil \(error.message)" + (partial.isEmpty ? "" : " \(partial)")
        }
    }

    /// The rows that expect a close or an answer wait 3 s for it (a full suite on two cores
    /// delays a peer's close past a few hundred milliseconds); timeout rows pass their own.
    static func open(_ socket: TCPSocket, _ port: Int, timeout: Int64 = 3000) async -> String? {
        await socket.setTimeout(.milliseconds(timeout))
        do {
            try await socket.connect(host: "127.0.0.1", port: port)
            return nil
        } catch {
            return "connect nil \(error.message)"
        }
    }

    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    static let rows: [Row] = [
        Row(fault: .refused, operation: "connect", body: { socket, port in
            [await show("connect") { try await socket.connect(host: "127.0.0.1", port: port); return "1" },
             await show("send") { String(try await socket.send("x")) },
             await show("close") { try await socket.close(); return "1" }]
        }, expected: ["connect nil connection refused", "send nil closed", "close nil closed"]),
        Row(fault: .fullBacklog, operation: "connect", body: { socket, port in
            await socket.setTimeout(.milliseconds(150))
            return [await show("connect") { try await socket.connect(host: "127.0.0.1", port: port); return "1" },
                    await show("receive") { text(try await socket.receive(.line)) }]
        }, expected: ["connect nil timeout", "receive nil closed"]),
        Row(fault: .closeMidLine, operation: "receive line", body: { socket, port in
            _ = await open(socket, port)
            return [await show("line") { text(try await socket.receive(.line)) },
                    await show("again") { text(try await socket.receive(.line)) },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["line nil closed hello wor", "again nil closed", "close 1"]),
        Row(fault: .closeMidLine, operation: "receive(size)", body: { socket, port in
            _ = await open(socket, port)
            return [await show("sized") { text(try await socket.receive(.bytes(20))) },
                    await show("keepalive") { try await socket.setKeepalive(); return "1" },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["sized nil closed hello wor", "keepalive nil closed", "close 1"]),
        Row(fault: .closeMidLine, operation: "receive all", body: { socket, port in
            _ = await open(socket, port)
            return [await show("all") { text(try await socket.receive(.all)) },
                    await show("line") { text(try await socket.receive(.line)) }]
        }, expected: ["all hello wor", "line nil closed"]),
        Row(fault: .closeMidLine, operation: "receiveUntil", body: { socket, port in
            _ = await open(socket, port)
            return [await show("until") { try await socket.receiveUntil(Array("\r\n".utf8)).next().map(text) ?? "nil" }]
        }, expected: ["until nil closed hello wor"]),
        Row(fault: .reset, operation: "receive line", body: { socket, port in
            _ = await open(socket, port)
            return [await show("line") { text(try await socket.receive(.line)) },
                    await show("again") { text(try await socket.receive(.line)) },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["line nil connection reset by peer partial", "again nil closed", "close 1"]),
        Row(fault: .reset, operation: "receiveAny", body: { socket, port in
            _ = await open(socket, port)
            return [await show("any") { text(try await socket.receiveAny(max: 100)) },
                    await show("again") { text(try await socket.receiveAny(max: 100)) }]
        }, expected: ["any partial", "again nil connection reset by peer"]),
        Row(fault: .reset, operation: "send after the RST arrived", body: { socket, port in
            _ = await open(socket, port)
            try? await Task.sleep(for: .milliseconds(300))
            return [await show("send") { String(try await socket.send("x")) },
                    await show("again") { String(try await socket.send("x")) },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["send nil connection reset by peer", "again nil closed", "close 1"]),
        Row(fault: .mute, operation: "receive(size)", body: { socket, port in
            _ = await open(socket, port, timeout: 100)
            return [await show("sized") { text(try await socket.receive(.bytes(10))) },
                    await show("send") { String(try await socket.send("x")) },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["sized nil timeout", "send 1", "close 1"]),
        Row(fault: .mute, operation: "receiveUntil", body: { socket, port in
            _ = await open(socket, port, timeout: 100)
            return [await show("until") { try await socket.receiveUntil(Array("--b".utf8)).next().map(text) ?? "nil" }]
        }, expected: ["until nil timeout"]),
        Row(fault: .noRead, operation: "send", body: { socket, port in
            _ = await open(socket, port, timeout: 150)
            return [await show("send") { String(try await socket.send(String(repeating: "x", count: 16 * 1024 * 1024))) },
                    await show("again") { String(try await socket.send("y")) },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["send nil timeout", "again nil closed", "close 1"]),
        Row(fault: .halfClose, operation: "receive line then send", body: { socket, port in
            _ = await open(socket, port)
            return [await show("line") { text(try await socket.receive(.line)) },
                    await show("again") { text(try await socket.receive(.line)) },
                    await show("send") { String(try await socket.send("after eof\n")) }]
        }, expected: ["line hello", "again nil closed", "send 10"]),
        Row(fault: .flood, operation: "receive(size)", body: { socket, port in
            _ = await open(socket, port)
            return [await show("sized") { text(try await socket.receive(.bytes(10))) },
                    await show("keepalive") { try await socket.setKeepalive(); return "1" },
                    await show("close") { try await socket.close(); return "1" }]
        }, expected: ["sized 0123456789", "keepalive nil unread data in buffer", "close 1"]),
        Row(fault: .flood, operation: "receive all", body: { socket, port in
            // 100 MiB through a debug build on a loaded machine: a generous read timeout.
            _ = await open(socket, port, timeout: 60000)
            return [await show("all") { String(try await socket.receive(.all).readableBytes) }]
        }, expected: ["all \(Fault.floodSize)"]),
        Row(fault: .idleCloser, operation: "pooled reuse after the peer closed it idle", body: { socket, port in
            _ = await open(socket, port)
            _ = try? await socket.send("ping\n")
            var lines = [await show("echo") { text(try await socket.receive(.line)) },
                         await show("keepalive") { try await socket.setKeepalive(idleTimeout: .seconds(10)); return "1" }]
            // The pool drops the connection when the peer's close arrives (after 2.5 s idle):
            // waiting for that, not for a fixed time, keeps the row exact on a loaded machine.
            lines.append("pooled \(await idleConnections(on: socket.eventLoop))")
            var polls = 0
            while polls < 200, await idleConnections(on: socket.eventLoop) > 0 {
                polls += 1
                try? await Task.sleep(for: .milliseconds(50))
            }
            lines.append("after the peer closed \(await idleConnections(on: socket.eventLoop))")
            _ = await open(socket, port)
            lines.append(await show("reused") { String(try await socket.reusedTimes()) })
            _ = try? await socket.send("pong\n")
            lines.append(await show("echo") { text(try await socket.receive(.line)) })
            lines.append(await show("close") { try await socket.close(); return "1" })
            return lines
        }, expected: ["echo ping", "keepalive 1", "pooled 1", "after the peer closed 0", "reused 0", "echo pong", "close 1"]),
        Row(fault: .closeMidLine, operation: "tlsHandshake", body: { socket, port in
            _ = await open(socket, port, timeout: 1000)
            return [await show("handshake") { _ = try await socket.tlsHandshake(serverName: "localhost", verify: false); return "1" },
                    await show("send") { String(try await socket.send("x")) }]
        }, expected: ["handshake nil handshake failed", "send nil closed"], transports: [.descriptor]),
        Row(fault: .mute, operation: "tlsHandshake", body: { socket, port in
            _ = await open(socket, port, timeout: 150)
            return [await show("handshake") { _ = try await socket.tlsHandshake(serverName: "localhost", verify: false); return "1" },
                    await show("send") { String(try await socket.send("x")) }]
        }, expected: ["handshake nil timeout", "send nil closed"], transports: [.descriptor]),
    ]

    static let cases: [(Row, Transport)] = rows.flatMap { row in row.transports.map { (row, $0) } }

    @Test(arguments: cases) func row(_ row: Row, _ transport: Transport) async throws {
        let peer = FaultPeer(row.fault)
        defer { peer.stop() }
        let before = SocketCensus.count(remotePort: peer.port)
        // A loop of its own for the pooled rows: pools are per loop.
        let socket = TCPSocket(eventLoop: transport.isolatedLoop())
        let lines = await row.body(socket, peer.port)
        #expect(lines == row.expected, "\(row.testDescription) over \(transport.rawValue)")
        _ = try? await socket.close()
        let settled = await settles { SocketCensus.count(remotePort: peer.port) == before }
        #expect(settled, "\(row.testDescription) over \(transport.rawValue): \(SocketCensus.count(remotePort: peer.port) - before) sockets left to the peer")
        // The loop serves the next connection.
        let echo = FaultPeer(.echo)
        defer { echo.stop() }
        let next = TCPSocket(eventLoop: socket.eventLoop)
        try await next.connect(host: "127.0.0.1", port: echo.port)
        _ = try await next.send("next\n")
        #expect(try await next.receive(.line).text == "next")
        try await next.close()
    }

    /// Idle pooled connections on `loop`, over every key.
    static func idleConnections(on loop: EventLoop) async -> Int {
        await TCPSocket.poolStatistics(on: loop).values.reduce(0) { $0 + $1.idle }
    }

    /// Polls `condition` for up to 3 s (closes are asynchronous).
    func settles(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<300 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
