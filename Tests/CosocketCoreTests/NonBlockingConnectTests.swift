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
@Suite struct NonBlockingConnectTests {
    @Test func loopbackListenerConnectsInsideTheCall() throws {
        let listener = TestListener { fd in Peer.echo(fd) }
        defer { listener.stop() }
        let outcome = NonBlockingConnect.start(try SocketAddress(ipAddress: "127.0.0.1", port: listener.port))
        guard case .connected(let fd, let afterInProgress) = outcome else {
            Issue.record("expected a connected descriptor, got \(outcome)")
            return
        }
        // TCP says EINPROGRESS first, as it does to nginx (which then waits for the loop).
        #expect(afterInProgress)
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
        let outcome = NonBlockingConnect.start(try SocketAddress(ipAddress: "127.0.0.1", port: refusing.port))
        guard case .failed(let code, let afterInProgress) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(code == ECONNREFUSED)
        #expect(afterInProgress)
    }

    @Test func unixSocketsConnectOrFailAtOnce() throws {
        let path = NSTemporaryDirectory() + "cosocket-immediate-\(getpid()).sock"
        let listener = TestListener(unixPath: path) { fd in Peer.echo(fd) }
        defer { listener.stop(); unlink(path) }
        guard case .connected(let fd, afterInProgress: false) = NonBlockingConnect.start(try SocketAddress(unixDomainSocketPath: path)) else {
            Issue.record("a listening unix socket should connect inside the call")
            return
        }
        close(fd)
        let missing = NonBlockingConnect.start(try SocketAddress(unixDomainSocketPath: path + ".missing"))
        guard case .failed(let code, afterInProgress: false) = missing else {
            Issue.record("expected an immediate failure, got \(missing)")
            return
        }
        #expect(code == ENOENT)
    }

    @Test func aPeerThatDoesNotAnswerIsLeftInProgress() throws {
        // A full accept queue drops SYNs: the handshake cannot finish inside the call.
        let listener = TestListener(backlog: 0, acceptConnections: false) { _ in }
        defer { listener.stop() }
        var held: [CInt] = []
        defer { held.forEach { close($0) } }
        var sawPending = false
        for _ in 0..<8 {
            switch NonBlockingConnect.start(try SocketAddress(ipAddress: "127.0.0.1", port: listener.port)) {
            case .connected(let fd, _): held.append(fd)
            case .inProgress(let fd):
                held.append(fd)
                sawPending = true
            case .failed(let code, _): Issue.record("unexpected errno \(code)")
            }
            if sawPending { break }
        }
        #expect(sawPending)
    }

    @Test func onlyLocalPeersAreTried() throws {
        #expect(NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "127.0.0.1", port: 80)))
        #expect(NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "127.8.9.10", port: 80)))
        #expect(NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "::1", port: 80)))
        #expect(NonBlockingConnect.isLocal(try SocketAddress(unixDomainSocketPath: "/tmp/x.sock")))
        // Parsed only: nothing is sent to these.
        #expect(!NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "10.0.0.1", port: 80)))
        #expect(!NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "128.0.0.1", port: 80)))
        #expect(!NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "::2", port: 80)))
        #expect(!NonBlockingConnect.isLocal(try SocketAddress(ipAddress: "fe80::1", port: 80)))
    }
}
