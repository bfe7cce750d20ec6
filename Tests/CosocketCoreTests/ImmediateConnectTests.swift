import CosocketTestSupport
import Foundation
import NIOCore
import Testing

@testable import CosocketCore

#if canImport(Glibc)
import Glibc
#endif

/// The connect fast path against real loopback peers: what finishes inside the call, what
/// fails at once, and what is left to the event loop.
@Suite struct ImmediateConnectTests {
    @Test func loopbackListenerConnectsInsideTheCall() throws {
        let listener = TestListener { fd in Peer.echo(fd) }
        defer { listener.stop() }
        let outcome = ImmediateConnect.attempt(try SocketAddress(ipAddress: "127.0.0.1", port: listener.port))
        guard case .connected(let fd) = outcome else {
            Issue.record("expected a connected descriptor, got \(outcome)")
            return
        }
        defer { close(fd) }
        var noDelay: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        getsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &noDelay, &length)
        #expect(noDelay == 1)
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0)
        // The descriptor is connected: the echo peer answers (read blocking, for simplicity).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        Peer.send(fd, "ping\n")
        #expect(Peer.receiveLine(fd) == "ping")
    }

    @Test func refusedPortFailsWithItsErrno() throws {
        let refusing = RefusingPort()
        let outcome = ImmediateConnect.attempt(try SocketAddress(ipAddress: "127.0.0.1", port: refusing.port))
        guard case .failed(let code) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(code == ECONNREFUSED)
    }

    @Test func unixSocketsConnectOrFailAtOnce() throws {
        let path = NSTemporaryDirectory() + "cosocket-immediate-\(getpid()).sock"
        let listener = TestListener(unixPath: path) { fd in Peer.echo(fd) }
        defer { listener.stop(); unlink(path) }
        guard case .connected(let fd) = ImmediateConnect.attempt(try SocketAddress(unixDomainSocketPath: path)) else {
            Issue.record("a listening unix socket should connect inside the call")
            return
        }
        close(fd)
        let missing = ImmediateConnect.attempt(try SocketAddress(unixDomainSocketPath: path + ".missing"))
        guard case .failed(let code) = missing else {
            Issue.record("expected a failure, got \(missing)")
            return
        }
        #expect(code == ENOENT)
    }

    @Test func aPeerThatDoesNotAnswerIsLeftToTheEventLoop() throws {
        // A full accept queue drops SYNs: the handshake cannot finish inside the call.
        let listener = TestListener(backlog: 0, acceptConnections: false) { _ in }
        defer { listener.stop() }
        var held: [CInt] = []
        defer { held.forEach { close($0) } }
        var sawPending = false
        for _ in 0..<8 {
            switch ImmediateConnect.attempt(try SocketAddress(ipAddress: "127.0.0.1", port: listener.port)) {
            case .connected(let fd): held.append(fd)
            case .notImmediate: sawPending = true
            case .failed(let code): Issue.record("unexpected errno \(code)")
            }
            if sawPending { break }
        }
        #expect(sawPending)
    }
}
