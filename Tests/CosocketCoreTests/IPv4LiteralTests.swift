import CosocketTestSupport
import NIOCore
import Testing

@testable import CosocketCore

/// The resolver's IPv4 fast path agrees with NIO's `inet_pton`-based parse on every input it
/// accepts, and accepts every dotted quad `inet_pton` does.
@Suite struct IPv4LiteralTests {
    private static func nio(_ host: String, port: Int = 80) -> SocketAddress? {
        try? SocketAddress(ipAddress: host, port: port)
    }

    @Test(arguments: [
        "127.0.0.1", "0.0.0.0", "255.255.255.255", "10.1.20.254", "1.2.3.4",
        "256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ",
        "1234.1.1.1", "::1", "localhost", "", "0.00.0.0", "1.2.3.04", "999.1.1.1",
    ])
    func agreesWithInetPton(host: String) {
        let fast = IPv4Literal.address(host, port: 8080)
        let reference = Self.nio(host, port: 8080)
        if let fast {
            #expect(fast == reference)
            #expect(fast.port == 8080)
        } else if host.contains(":") == false {
            // Rejected here: NIO must reject it too (IPv6 goes to NIO by design).
            #expect(reference == nil)
        }
    }

    @Test(arguments: [1, 2, 3])
    func agreesOnRandomDottedStrings(seed: UInt64) {
        var generator = SplitMix(seed: seed)
        let alphabet = Array("0123456789.".utf8) + Array("0012.".utf8)
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 16) + 1
            let host = String(decoding: (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }, as: UTF8.self)
            let fast = IPv4Literal.address(host, port: 1)
            let reference = Self.nio(host, port: 1)
            #expect(fast == reference, "\(host)")
        }
    }
}
