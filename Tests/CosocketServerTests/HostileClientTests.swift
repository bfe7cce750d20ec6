import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Hostile clients of the HTTP host, answered as the reference nginx answers them (each
/// status line below was compared with `ref-nginx` on the same configuration): request
/// lines and headers at and past the buffer limits, bad methods, versions and chunk sizes,
/// NUL and bare CR, a head sent a byte at a time and a body that never ends. Each is followed
/// by a request that must be served.
@Suite struct HostileClientTests {
    static let configuration = (
        http: "client_header_timeout 1s; client_body_timeout 1s; client_header_buffer_size 1k; large_client_header_buffers 2 1k;",
        server: """
            location / { return 200 "ok"; }
            location = /body { content_by_lua_block { ngx.req.read_body() ngx.say(#(ngx.req.get_body_data() or "")) } }
            """
    )

    static let inputs: [(name: String, request: String, statusLine: String)] = [
        ("uri at the limit", "GET /" + String(repeating: "a", count: 1000) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK"),
        ("uri past the limit", "GET /" + String(repeating: "a", count: 3000) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 414 Request-URI Too Large"),
        ("header past the limit", "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "b", count: 3000) + "\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("bad method", "G@T / HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("lower-case method", "get / HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("version 2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"),
        ("version 1.9", "GET / HTTP/1.9\r\nHost: t\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK"),
        ("version garbage", "GET / HTTP/x.y\r\nHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("bad chunk size", "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("huge chunk size", "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("NUL in a header value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\u{0}b\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("NUL in a header name", "GET / HTTP/1.1\r\nHost: t\r\nX\u{0}A: ab\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("bare CR in a header", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        ("bare CR ending the request line", "GET / HTTP/1.1\rHost: t\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ]

    @Test func hostileInputsAreAnsweredAsNginxAnswersThem() throws {
        let server = try TestServer(server: Self.configuration.server, http: Self.configuration.http)
        for input in Self.inputs {
            let answer = server.exchange(input.request)
            #expect(answer.split(separator: "\r\n").first.map(String.init) == input.statusLine, "\(input.name)")
            #expect(server.get("/").body == "ok", "after \(input.name)")
        }
    }

    /// Regression: the head timeout was rearmed by every byte, so a head sent a byte every
    /// 300 ms was read for good; nginx arms `client_header_timeout` once per head and closes.
    @Test func slowlorisIsCutAfterClientHeaderTimeout() throws {
        let server = try TestServer(server: Self.configuration.server, http: Self.configuration.http)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        let started = Date()
        var closed = false
        for byte in "GET / HTTP/1.1\r\nHost: t\r\nX-A: bbbbbbbbbbbbbbbbbbbb\r\n\r\n".utf8 {
            let sent = withUnsafePointer(to: byte) { Glibc.send(client.fd, $0, 1, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { closed = true; break }
            usleep(300_000)
        }
        #expect(closed || client.waitForClose())
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.get("/").body == "ok")
    }

    @Test func aBodyThatNeverEndsIsClosed() throws {
        let server = try TestServer(server: Self.configuration.server, http: Self.configuration.http)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        let started = Date()
        #expect(client.readAll() == "")  // nginx: 408 logged, the connection closed
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(server.get("/").body == "ok")
    }

    /// 2,500 kept-alive connections against `worker_connections 250` (the suite's size: the
    /// 10,000-against-1024 run of the same script is in docs/reliability.md), opened by a Python
    /// child (its descriptors are not this process's): each is answered, the worker closes the
    /// connections idle longest to make room as nginx does (checked with ref-nginx), the ones
    /// it kept still serve their next request, and a new client is served after them.
    @Test func tenTimesWorkerConnectionsOfIdleKeptAliveConnections() throws {
        let server = try TestServer("worker_processes 1; events { worker_connections 250; } http { server { listen 127.0.0.1:@PORT@; location / { return 200 ok; } } }")
        let script = makeTemporaryDirectory() + "/idle.py"
        writeFile(script, """
            import socket, sys
            port = int(sys.argv[1])
            request = b"GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n"
            def answer(s):
                data = b""
                while not data.endswith(b"ok"):
                    chunk = s.recv(4096)
                    if not chunk: return data
                    data += chunk
                return data
            held, answered = [], 0
            for i in range(2500):
                s = socket.create_connection(("127.0.0.1", port))
                s.settimeout(10)
                s.sendall(request)
                if answer(s).startswith(b"HTTP/1.1 200 OK"): answered += 1
                held.append(s)
            print("answered", answered)
            closed = open_ = 0
            for s in held:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"": closed += 1
                except BlockingIOError: open_ += 1
                s.settimeout(10)
            print("closed by the server", closed >= 2500 - 250)
            print("kept at most worker_connections", open_ <= 250)
            served = sum(1 for s in held[-100:] if (s.sendall(request) or True) and answer(s).startswith(b"HTTP/1.1 200"))
            print("the newest still served", served)
            s = socket.create_connection(("127.0.0.1", port)); s.sendall(request)
            print("a new client", answer(s).split(b"\\r\\n")[0].decode())
            """)
        let python = try runPython(script, [String(server.port)])
        #expect(python.status == 0)
        #expect(python.output == """
            answered 2500
            closed by the server True
            kept at most worker_connections True
            the newest still served 100
            a new client HTTP/1.1 200 OK

            """)
        #expect(server.log.waitFor("250 worker_connections are not enough, reusing connections"))
        #expect(server.get("/").body == "ok")
    }
}
