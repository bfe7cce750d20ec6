import CosocketLua
import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// The server end to end: a configuration from text, real HTTP over loopback.
@Suite struct HTTPServerTests {
    final class SilentLog: LuaErrorLog {
        func log(_ level: LuaLogLevel, _ message: String) {}
    }

    /// Sends raw request bytes on one connection and reads until the peer closes.
    static func exchange(port: Int, _ request: String) -> String {
        let fd = Loopback.tcpSocket()
        defer { close(fd) }
        Loopback.connect(fd, port: port)
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = recv(fd, &chunk, chunk.count, 0)
            if got <= 0 { break }
            reply.append(contentsOf: chunk[0..<got])
        }
        return String(decoding: reply, as: UTF8.self)
    }

    /// Both client transports: descriptors on the worker's readiness set, and the NIO channel
    /// fallback.
    static let transports = [true, false]

    func withServer(readinessSets: Bool = true, _ http: String, httpLevel: String = "", _ body: (Int) throws -> Void) throws {
        // Held until the server has bound it (see `PortReservation`).
        let reservation = PortReservation()
        let port = reservation.port
        let text = "worker_processes 1; events {} http { \(httpLevel) server { listen 127.0.0.1:\(port); \(http) } }"
        let nodes = try ConfigParser().parse(text, file: "test.conf")
        let server = HTTPServer(
            configuration: try ConfigurationBuilder(prefix: "/tmp").build(nodes), errorLog: SilentLog(), readinessSets: readinessSets
        )
        try server.start()
        reservation.release()
        defer { try? server.shutdown() }
        try body(port)
    }

    @Test(arguments: Self.transports) func contentHandlerStatusHeadersAndVariables(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, """
            location /t {
                content_by_lua_block {
                    ngx.status = 201
                    ngx.header["X-Answer"] = 42
                    ngx.say(ngx.var.uri, " ", ngx.var.arg_name, " ", ngx.req.get_method(), " ", ngx.req.get_headers()["x-in"])
                }
            }
            """) { port in
            let reply = Self.exchange(port: port, "GET /t?name=lua HTTP/1.1\r\nHost: x\r\nX-In: yes\r\nConnection: close\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 201 Created\r\n"))
            #expect(reply.contains("\r\nX-Answer: 42\r\n"))
            #expect(reply.contains("\r\nContent-Length: 15\r\n"))
            #expect(reply.hasSuffix("\r\n\r\n/t lua GET yes\n"))
        }
    }

    @Test(arguments: Self.transports) func exitErrorsReturnAndUnknownLocations(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, """
            location = /exit { content_by_lua_block { ngx.exit(403) } }
            location = /error { content_by_lua_block { error("boom") } }
            location = /ret { return 200 "returned"; }
            location = /phases {
                rewrite_by_lua_block { ngx.ctx.order = "rewrite" }
                access_by_lua_block { ngx.ctx.order = ngx.ctx.order .. ",access" }
                content_by_lua_block { ngx.print(ngx.ctx.order, ",content ", ngx.get_phase()) }
            }
            """) { port in
            #expect(Self.exchange(port: port, "GET /exit HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.1 403 Forbidden"))
            #expect(Self.exchange(port: port, "GET /error HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.1 500 Internal Server Error"))
            #expect(Self.exchange(port: port, "GET /ret HTTP/1.0\r\n\r\n").hasSuffix("\r\n\r\nreturned"))
            #expect(Self.exchange(port: port, "GET /none HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.1 404 Not Found"))
            #expect(Self.exchange(port: port, "GET /phases HTTP/1.0\r\n\r\n").hasSuffix("\r\n\r\nrewrite,access,content content"))
            #expect(Self.exchange(port: port, "BROKEN\r\n\r\n").hasPrefix("HTTP/1.1 400 Bad Request"))
        }
    }

    @Test(arguments: Self.transports) func keepAliveAndPipelining(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, "location / { content_by_lua_block { ngx.say(ngx.var.request_uri) } }") { port in
            let reply = Self.exchange(port: port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(reply.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
            #expect(reply.contains("Connection: keep-alive"))
            #expect(reply.hasSuffix("/b\n"))
            #expect(reply.contains("\r\n\r\n/a\n"))
        }
    }

    @Test(arguments: Self.transports) func requestBodiesRawHeaderAndRedirect(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, """
            location = /post {
                content_by_lua_block {
                    ngx.req.read_body()
                    local args = ngx.req.get_post_args()
                    ngx.say(ngx.req.get_body_data(), "|", args.a, "|", args.b[1], ",", args.b[2])
                }
            }
            location = /raw { content_by_lua_block { ngx.print(ngx.req.raw_header()) } }
            location = /go { content_by_lua_block { ngx.redirect("/elsewhere", 301) } }
            """) { port in
            let post = Self.exchange(port: port, "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nConnection: close\r\n\r\na=1&b=x&b=y%20")
            #expect(post.hasSuffix("\r\n\r\na=1&b=x&b=y%20|1|x,y \n"))
            let raw = Self.exchange(port: port, "GET /raw HTTP/1.0\r\nX-Thing: 1\r\n\r\n")
            #expect(raw.hasSuffix("\r\n\r\nGET /raw HTTP/1.0\r\nX-Thing: 1\r\n\r\n"))
            let redirect = Self.exchange(port: port, "GET /go HTTP/1.0\r\n\r\n")
            #expect(redirect.hasPrefix("HTTP/1.1 301 Moved Permanently\r\n"))
            #expect(redirect.contains("\r\nLocation: /elsewhere\r\n"))
        }
    }

    @Test(arguments: Self.transports) func idleKeepAliveConnectionsAreClosed(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, "location / { content_by_lua_block { ngx.say(\"ok\") } }", httpLevel: "keepalive_timeout 1s;") { port in
            let started = Date()
            // A keep-alive request, then silence: the server closes after keepalive_timeout.
            let reply = Self.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(reply.hasSuffix("\r\n\r\nok\n"))
            #expect(Date().timeIntervalSince(started) < 10)
        }
    }

    /// `ngx.flush(true)` that had to wait, then more output and the end of a `Connection:
    /// close` response: everything arrives before the close.
    @Test(arguments: Self.transports) func waitedFlushThenCloseKeepsTheWholeResponse(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, """
            location /t {
                content_by_lua_block {
                    ngx.print(string.rep("a", 4 * 1024 * 1024))
                    assert(ngx.flush(true))
                    ngx.print(string.rep("b", 4 * 1024 * 1024))
                    ngx.print("END")
                }
            }
            """) { port in
            let reply = Self.exchange(port: port, "GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(reply.hasSuffix("END\r\n0\r\n\r\n"))
            #expect(reply.utf8.count > 8 * 1024 * 1024)
        }
    }

    /// A handler waiting in `ngx.flush(true)` when its client goes away is resumed, not left
    /// waiting for the worker's end.
    @Test(arguments: Self.transports) func waitedFlushEndsWhenTheClientLeaves(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, """
            location /big {
                content_by_lua_block {
                    local state = {}
                    package.loaded.flush_state = state
                    ngx.print(string.rep("x", 16 * 1024 * 1024))
                    state.waiting = true
                    ngx.flush(true)
                    state.resumed = true
                }
            }
            location /state {
                content_by_lua_block {
                    local state = package.loaded.flush_state or {}
                    ngx.print(tostring(state.waiting), " ", tostring(state.resumed))
                }
            }
            """) { port in
            let fd = Loopback.tcpSocket()
            Loopback.connect(fd, port: port)
            Peer.send(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            var chunk = [UInt8](repeating: 0, count: 4096)
            #expect(recv(fd, &chunk, chunk.count, 0) > 0)
            close(fd)
            var state = ""
            for _ in 0..<50 {
                state = Self.exchange(port: port, "GET /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if state.hasSuffix("true true") { break }
                usleep(100_000)
            }
            #expect(state.hasSuffix("true true"))
        }
    }

    /// More than a megabyte of requests pipelined behind a slow one: reading pauses, resumes
    /// once the slow one ends, and every request is answered in order.
    @Test(arguments: Self.transports) func pipelinedFloodPausesAndResumes(readinessSets: Bool) throws {
        try withServer(readinessSets: readinessSets, """
            location /slow { content_by_lua_block { ngx.sleep(0.2) ngx.say("slow") } }
            location /n { content_by_lua_block { ngx.say(ngx.var.arg_i) } }
            """, httpLevel: "keepalive_requests 100000;") { port in
            let padding = String(repeating: "p", count: 400)
            var requests = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
            let count = 3000
            for i in 0..<count { requests += "GET /n?i=\(i) HTTP/1.1\r\nHost: x\r\nX-Pad: \(padding)\r\n\r\n" }
            requests += "GET /n?i=last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            #expect(requests.utf8.count > 1 << 20)
            let reply = Self.exchange(port: port, requests)
            #expect(reply.components(separatedBy: "HTTP/1.1 200 OK").count == count + 3)
            #expect(reply.contains("\r\n\r\nslow\n"))
            #expect(reply.contains("\r\n\r\n\(count - 1)\n"))
            #expect(reply.hasSuffix("\r\n\r\nlast\n"))
        }
    }
}
