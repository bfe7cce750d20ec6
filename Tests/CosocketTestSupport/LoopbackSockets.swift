#if canImport(Glibc)
import Glibc
#endif

/// Blocking loopback sockets for test peers and clients: the `sockaddr_in` dance in one place.
public enum Loopback {
    /// 127.0.0.1:`port` (0 lets bind choose), or another address of 127.0.0.0/8.
    public static func address(port: Int, host: String = "127.0.0.1") -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    /// Binds `fd` to a free loopback port (or to `port`, on `host`: several loopback
    /// addresses can share one port, as a name's addresses do) and returns it; -1 when the
    /// bind fails.
    @discardableResult
    public static func bindToFreePort(_ fd: Int32, host: String = "127.0.0.1", port: Int = 0) -> Int {
        var address = address(port: port, host: host)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0 { return -1 }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Connects `fd` to 127.0.0.1:`port`; `true` on success.
    @discardableResult
    public static func connect(_ fd: Int32, port: Int) -> Bool {
        var address = address(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A new TCP socket descriptor.
    public static func tcpSocket() -> Int32 {
        socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    }
}
