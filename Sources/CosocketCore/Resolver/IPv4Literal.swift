import NIOCore

import Glibc

/// Dotted-quad IPv4 literals ("127.0.0.1"), parsed without `inet_pton` and the strings around
/// it: a connect that does not pool (`connect` then `close` per request) resolves its host
/// every time, and `SocketAddress(ipAddress:port:)` cost over 1k instructions of it.
///
/// Accepts exactly the forms `inet_pton(AF_INET)` accepts (four decimal parts of at most three
/// digits, no leading zeros, each at most 255); the resolver falls back to NIO for the rest.
enum IPv4Literal {
    static func address(_ host: String, port: Int) -> SocketAddress? {
        var octets: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for byte in host.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits > 0 && part == 0 { return nil }  // a leading zero
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || part > 255 { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, parts < 3 else { return nil }
                octets = octets << 8 | part
                parts += 1
                part = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, parts == 3, (0...65535).contains(port) else { return nil }
        octets = octets << 8 | part
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: octets.bigEndian)
        return SocketAddress(address, host: "")
    }
}
