#if canImport(Glibc)
import Glibc
#endif

/// A free loopback port held (bound, not listening, with `SO_REUSEPORT`) until `release()`,
/// for a server that binds it with `SO_REUSEPORT` too. A port merely found free and closed
/// could be handed to a second test meanwhile, and two servers sharing it through
/// `SO_REUSEPORT` would split each other's connections.
public final class PortReservation: @unchecked Sendable {
    public let port: Int
    private var fd: Int32

    public init() {
        fd = Loopback.tcpSocket()
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        port = Loopback.bindToFreePort(fd)
    }

    /// Lets go of the port (after the server has bound it).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
