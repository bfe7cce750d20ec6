import Cosocket
import CosocketCore
import CosocketTestSupport
import Foundation
import NIOCore
import Testing

@Suite struct UDPSocketTests {
    @Test(arguments: Transport.allCases) func echoesDatagramsWhole(_ transport: Transport) async throws {
        let peer = DatagramTestPeer()
        let socket = UDPSocket(eventLoop: transport.sharedLoop)
        await socket.setTimeout(.seconds(2))
        try await socket.setPeer(host: "127.0.0.1", port: peer.port)
        try await socket.send("hello")
        try await socket.send("world")
        #expect(try await socket.receive().text == "hello")
        #expect(try await socket.receive(maximum: 3).text == "wor")
        let big = String(repeating: "x", count: 65507)
        try await socket.send(big)
        #expect(try await socket.receive().readableBytes == 65507)
        if transport == .descriptor {
            // (A NIO channel reports a refused write later, to nobody: the fallback cannot say.)
            #expect(await failure { try await socket.send(big + "x") }?.message == "message too long")
        }
        try await socket.close()
        #expect(await failure { try await socket.close() }?.message == "closed")
        #expect(await failure { try await socket.send("x") }?.message == "closed")
    }

    @Test(arguments: Transport.allCases) func readTimeoutLeavesTheSocketUsable(_ transport: Transport) async throws {
        let mute = DatagramTestPeer(mute: true)
        let echo = DatagramTestPeer()
        let socket = UDPSocket(eventLoop: transport.sharedLoop)
        await socket.setTimeout(.milliseconds(50))
        try await socket.setPeer(host: "127.0.0.1", port: mute.port)
        try await socket.send("anyone?")
        #expect(await failure { try await socket.receive() } == .timeout(partial: ByteBuffer()))
        await socket.setTimeout(.seconds(2))
        try await socket.setPeer(host: "127.0.0.1", port: echo.port)
        try await socket.send("again")
        #expect(try await socket.receive().text == "again")
    }

    @Test(arguments: Transport.allCases) func portUnreachableIsRefusedOnTheNextReceive(_ transport: Transport) async throws {
        let closed = DatagramTestPeer()
        let port = closed.port
        closed.stop()
        let socket = UDPSocket(eventLoop: transport.sharedLoop)
        await socket.setTimeout(.seconds(2))
        // Linux sends at most one port-unreachable a second to each address (icmp_ratelimit,
        // type 3 in icmp_ratemask), and other tests provoke them toward 127.0.0.1: a source
        // address of this case's own gets the ICMP however the tests interleave.
        try await socket.bind(host: transport == .channel ? "127.0.77.1" : "127.0.77.2")
        try await socket.setPeer(host: "127.0.0.1", port: port)
        try await socket.send("hello")
        let error = await failure { try await socket.receive() }
        #expect(error?.message == "connection refused")
        if case .system(let code, _)? = error { #expect(code == ECONNREFUSED) }
    }

    @Test func unixDatagramPeerAnswersTheAutoboundClient() async throws {
        let path = NSTemporaryDirectory() + "cosocket-udp-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        let peer = DatagramTestPeer(unixPath: path)
        let socket = UDPSocket(eventLoop: Transport.descriptor.sharedLoop)
        await socket.setTimeout(.seconds(2))
        try await socket.setPeer(unixPath: path)
        try await socket.send("over unix")
        #expect(try await socket.receive().text == "over unix")
        peer.stop()
        #expect(await failure { try await socket.setPeer(unixPath: path) }?.message == "no such file or directory")
    }

    @Test(arguments: Transport.allCases) func oneWaitingReceiveAtATime(_ transport: Transport) async throws {
        let mute = DatagramTestPeer(mute: true)
        let socket = UDPSocket(eventLoop: transport.sharedLoop)
        // Long enough that the first receive still waits when the others run, even on a busy machine.
        await socket.setTimeout(.seconds(3))
        try await socket.setPeer(host: "127.0.0.1", port: mute.port)
        async let first = failure { try await socket.receive() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await failure { try await socket.receive() } == .busy(.datagram))
        #expect(await failure { try await socket.close() }?.message == "socket busy")
        #expect(await first == .timeout(partial: ByteBuffer()))
        try await socket.close()
    }

    @Test func bindChoosesTheSourceAddress() async throws {
        let peer = DatagramTestPeer()
        let socket = UDPSocket(eventLoop: Transport.descriptor.sharedLoop)
        await socket.setTimeout(.seconds(2))
        #expect(await failure { try await socket.bind(host: "localhost") }?.message == "bad address")
        try await socket.bind(host: "127.0.0.2")
        try await socket.setPeer(host: "127.0.0.1", port: peer.port)
        try await socket.send("bound")
        #expect(try await socket.receive().text == "bound")
        try await socket.bind(host: "192.0.2.1")
        #expect(await failure { try await socket.setPeer(host: "127.0.0.1", port: peer.port) }?.message == "cannot assign requested address")
    }
}
