import Cosocket
import CosocketCore
import CosocketTestSupport
import NIOCore
import Testing

/// `TCPSocket.tlsHandshake` against openssl s_server: the same engine code as `sslhandshake`,
/// with typed errors. TLS runs on the descriptor transport.
@Suite(.serialized) struct TLSTests {
    /// An engine of its own whose configuration trusts the test CA.
    static func engine() -> CosocketEngine {
        var configuration = EngineConfiguration()
        configuration.connectTimeout = .seconds(3)
        configuration.readTimeout = .seconds(3)
        configuration.tls.trustedCertificate = TLSCertificates.path("ca.pem")
        return CosocketEngine(eventLoop: Transport.descriptor.isolatedLoop(), configuration: configuration)
    }

    static func server(_ options: [String] = []) throws -> OpenSSLServer {
        try OpenSSLServer(["-cert", TLSCertificates.path("server.pem"), "-key", TLSCertificates.path("server.key"), "-www", "-quiet"] + options)
    }

    /// One `GET /` over a new connection; the server's `New`/`Reused` line, and the session.
    static func get(_ engine: CosocketEngine, port: Int, session: TLSSession? = nil) async throws -> (String, TLSSession) {
        let socket = TCPSocket(engine: engine)
        try await socket.connect(host: "127.0.0.1", port: port)
        let next = try await socket.tlsHandshake(serverName: "localhost", verify: true, session: session)
        #expect(await socket.isTLS)
        try await socket.send("GET / HTTP/1.0\r\n\r\n")
        let page = String(buffer: try await socket.receive(.all))
        try await socket.close()
        let line = page.split(separator: "\n").first { $0.hasPrefix("New,") || $0.hasPrefix("Reused,") } ?? ""
        return (String(line.prefix { $0 != "," }), next)
    }

    @Test(arguments: ["-tls1_2", "-tls1_3"])
    func handshakeReadWriteAndResume(option: String) async throws {
        let server = try Self.server([option])
        let engine = Self.engine()
        let (first, session) = try await Self.get(engine, port: server.port)
        #expect(first == "New")
        #expect(session.isResumable)
        let (second, _) = try await Self.get(engine, port: server.port, session: session)
        #expect(second == "Reused")
    }

    @Test func typedErrors() async throws {
        let server = try Self.server()
        let engine = Self.engine()
        let mismatch = TCPSocket(engine: engine)
        try await mismatch.connect(host: "127.0.0.1", port: server.port)
        await #expect(throws: CosocketError.tlsHostMismatch(host: "wrong.example")) {
            try await mismatch.tlsHandshake(serverName: "wrong.example", verify: true)
        }
        // The failed handshake closed the connection.
        await #expect(throws: CosocketError.closed(partial: ByteBuffer())) { try await mismatch.send("x") }

        let expired = try OpenSSLServer(["-cert", TLSCertificates.path("expired.pem"), "-key", TLSCertificates.path("expired.key"), "-www", "-quiet"])
        let socket = TCPSocket(engine: engine)
        try await socket.connect(host: "127.0.0.1", port: expired.port)
        await #expect(throws: CosocketError.tlsVerifyFailed(code: 10, reason: "certificate has expired")) {
            try await socket.tlsHandshake(serverName: "localhost", verify: true)
        }

        let plaintext = ScriptedListener { fd in
            _ = ScriptedListener.readSome(fd)
            ScriptedListener.write(fd, Array("HTTP/1.0 400 Bad Request\r\n\r\n".utf8))
        }
        let confused = TCPSocket(engine: engine)
        try await confused.connect(host: "127.0.0.1", port: plaintext.port)
        do {
            try await confused.tlsHandshake(serverName: "localhost")
            Issue.record("a plaintext peer completed a handshake")
        } catch {
            #expect(error.message == "handshake failed")
        }
    }

    @Test func aPooledConnectionKeepsItsTLS() async throws {
        let port = freePort()
        let redis = try SpawnedProcess(
            [
                "/usr/bin/redis-server", "--port", "0", "--tls-port", "\(port)", "--bind", "127.0.0.1", "--save", "",
                "--tls-cert-file", TLSCertificates.path("server.pem"), "--tls-key-file", TLSCertificates.path("server.key"),
                "--tls-ca-cert-file", TLSCertificates.path("ca.pem"), "--tls-auth-clients", "no",
            ], waitForPort: port)
        defer { redis.stop() }
        let engine = Self.engine()
        for round in 0..<3 {
            let socket = TCPSocket(engine: engine)
            try await socket.connect(host: "127.0.0.1", port: port)
            #expect(try await socket.reusedTimes() == round)
            #expect(await socket.isTLS == (round > 0))
            try await socket.tlsHandshake(serverName: "localhost", verify: true)
            try await socket.send("PING\r\n")
            #expect(String(buffer: try await socket.receive(.line)) == "+PONG")
            try await socket.setKeepalive()
        }
    }
}
