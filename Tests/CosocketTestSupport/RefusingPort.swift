import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port where connects are refused: a socket bound to it (so that nothing else can
/// take it meanwhile) that never listens. Safer than a stopped `TestListener`, whose accept
/// thread may still be about to call `accept` on a descriptor number that gets reused.
public final class RefusingPort: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    /// A free port of 127.0.0.1, or `port` on another loopback `host` (a name's dead address
    /// beside a live one on the same port).
    public init(host: String = "127.0.0.1", port requested: Int = 0) {
        let fd = Loopback.tcpSocket()
        self.fd = fd
        port = Loopback.bindToFreePort(fd, host: host, port: requested)
    }

    deinit { close(fd) }
}
