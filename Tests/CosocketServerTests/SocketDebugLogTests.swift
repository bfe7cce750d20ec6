import CosocketTestSupport
import Foundation
import Testing

/// The debug lines of cosocket operations that the reference's tests look for (t/058, t/068):
/// the timeouts an operation starts with, a pool's creation and a pooled reuse (the words
/// checked with ref-nginx against memcached).
@Suite struct SocketDebugLogTests {
    @Test func operationsLogTheReferenceDebugLines() throws {
        let peer = TestListener { fd in Peer.echo(fd) }
        defer { peer.stop() }
        let server = try TestServer(server: """
            location /k { content_by_lua_block {
                for i = 1, 2 do
                    local sock = ngx.socket.tcp()
                    sock:settimeout(100)
                    assert(sock:connect("127.0.0.1", \(peer.port)))
                    sock:send("ping\\n")
                    ngx.say(sock:receive(), " ", sock:getreusedtimes())
                    sock:setkeepalive(100, 25)
                end
            } }
            """, main: "worker_processes 1; error_log logs/error.log debug;")
        #expect(server.get("/k").body == "ping 0\nping 1\n")
        for line in [
            "lua tcp socket connect timeout: 100", "lua tcp socket send timeout: 100", "lua tcp socket read timeout: 100",
            "lua tcp socket keepalive timeout: 100 ms", "lua tcp socket connection pool size: 25",
            "lua tcp socket keepalive create connection pool for key \"127.0.0.1:\(peer.port)\"",
            "lua tcp socket get keepalive peer: using connection",
        ] {
            #expect(server.log.waitFor(line), "\(line)")
        }
        #expect(server.log.count(of: "create connection pool for key") == 1)
    }
}
