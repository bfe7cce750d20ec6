import CosocketCore
import Testing

@testable import CosocketLua

/// The worker's memory of its last connect target hits only on the same bytes and port.
@Suite struct RecentConnectTargetTests {
    private func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        Array(text.utf8).withUnsafeBytes(body)
    }

    @Test func hitsOnlyOnTheSameHostBytesAndPort() {
        var recent = RecentConnectTarget()
        #expect(!withBytes("127.0.0.1") { recent.matches($0, port: 80) })
        withBytes("127.0.0.1") { recent.remember($0, port: 80, target: .host("127.0.0.1", port: 80)) }
        #expect(withBytes("127.0.0.1") { recent.matches($0, port: 80) })
        #expect(!withBytes("127.0.0.2") { recent.matches($0, port: 80) })
        #expect(!withBytes("127.0.0.1") { recent.matches($0, port: 81) })
        #expect(!withBytes("127.0.0.10") { recent.matches($0, port: 80) })
        #expect(recent.target == .host("127.0.0.1", port: 80))
        #expect(recent.poolKey == "127.0.0.1:80")
        withBytes("unix:/tmp/s") { recent.remember($0, port: -1, target: .unix(path: "/tmp/s")) }
        #expect(recent.poolKey == "/tmp/s")
        #expect(!withBytes("127.0.0.1") { recent.matches($0, port: 80) })
    }

    @Test func recognisesTheUnixForm() {
        #expect(withBytes("unix:/tmp/a") { ConnectTarget.isUnixSocket($0) })
        #expect(withBytes("unix:") { ConnectTarget.isUnixSocket($0) })
        #expect(!withBytes("unix") { ConnectTarget.isUnixSocket($0) })
        #expect(!withBytes("localhost") { ConnectTarget.isUnixSocket($0) })
        #expect(ConnectTarget.parse(host: "unix:/tmp/a", port: nil) == .unix(path: "/tmp/a"))
        #expect(ConnectTarget.parse(host: "localhost", port: 80) == .host("localhost", port: 80))
        #expect(ConnectTarget.parse(host: "localhost", port: nil) == nil)
    }
}
