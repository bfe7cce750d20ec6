import Cosocket
import CosocketCore
import NIOCore
import CosocketTestSupport
import Testing

/// The socket against real servers speaking their own protocols.
@Suite struct ServiceTests {
    @Test func redisPingSetGet() async throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let socket = TCPSocket()
        try await socket.connect(host: "127.0.0.1", port: redis.port)
        try await socket.send("PING\r\n")
        #expect(try await socket.receive(.line).text == "+PONG")
        try await socket.send(contentsOf: ["*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n", "$5\r\nvalue\r\n"].map { ByteBuffer(string: $0) })
        #expect(try await socket.receive(.line).text == "+OK")
        try await socket.send("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n")
        #expect(try await socket.receive(.line).text == "$5")
        #expect(try await socket.receive(.bytes(7)).text == "value\r\n")
        try await socket.close()
    }

    @Test func memcachedSetGetWithReceiveUntil() async throws {
        let memcached = try ExternalServer(.memcached)
        defer { memcached.stop() }
        let socket = TCPSocket()
        try await socket.connect(host: "127.0.0.1", port: memcached.port)
        try await socket.send("set greeting 0 0 11\r\nhello world\r\n")
        #expect(try await socket.receive(.line).text == "STORED")
        try await socket.send("get greeting\r\n")
        let reply = try socket.receiveUntil(Array("END\r\n".utf8))
        #expect(try await reply.next()?.text == "VALUE greeting 0 11\r\nhello world\r\n")
        try await socket.close()
    }
}
