import CosocketTestSupport
import Foundation
import Testing

/// `keepalive_timeout` and `keepalive_requests` at every level nginx allows them (http,
/// server, location), the inner value winning.
@Suite struct ConnectionSettingsTests {
    static let locations = """
        keepalive_requests 3;
        location = /default { return 200 "d"; }
        location = /no-keepalive { keepalive_timeout 0; return 200 "n"; }
        location = /two { keepalive_requests 2; return 200 "t"; }
        location = /big {
            send_timeout 1s;
            content_by_lua_block { ngx.print(string.rep("x", 16 * 1024 * 1024)) }
        }
        """

    @Test func keepAliveSettingsOfTheLocation() throws {
        let server = try TestServer(server: Self.locations, http: "keepalive_timeout 30s;")
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        // The server's keepalive_requests 3: the third request on a connection closes it.
        for index in 1...3 {
            client.send("GET /default HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try #require(client.readResponse())
            #expect(response.body == "d")
            #expect((response.header("Connection") == "close") == (index == 3), "request \(index)")
        }
        #expect(client.waitForClose())

        let two = HTTPClient(port: server.port)
        defer { two.close() }
        two.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(two.readResponse()?.header("Connection") == "keep-alive")
        two.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(two.readResponse()?.header("Connection") == "close")

        let none = HTTPClient(port: server.port)
        defer { none.close() }
        none.send("GET /no-keepalive HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(none.readResponse()?.header("Connection") == "close")
        #expect(none.waitForClose())
    }

    /// A client that takes nothing of a 16 MiB response is closed after `send_timeout`, with
    /// and without keep-alive; one that reads gets it all.
    @Test(arguments: ["keep-alive", "close"])
    func sendTimeoutClosesAClientThatTakesNothing(connection: String) throws {
        let server = try TestServer(server: Self.locations)
        let reader = HTTPClient(port: server.port)
        defer { reader.close() }
        reader.send("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reader.readAll().utf8.count > 16 * 1024 * 1024)

        let stalled = HTTPClient(port: server.port)
        defer { stalled.close() }
        stalled.send("GET /big HTTP/1.1\r\nHost: x\r\nConnection: \(connection)\r\n\r\n")
        // The sweep runs once a second: the timeout is seen two to three seconds in.
        Thread.sleep(forTimeInterval: 3.5)
        let received = stalled.readAll().utf8.count
        #expect(received < 16 * 1024 * 1024)
        #expect(received > 0)
    }
}

/// `client_header_buffer_size`: a line that fits the first buffer passes even when it is
/// longer than a large buffer, and the head may hold the first buffer and the large ones;
/// each status is Debian's nginx's for the same request.
@Suite struct ClientHeaderBufferTests {
    @Test func firstBufferAndLargeBuffersAsNginx() throws {
        let server = try TestServer(
            server: #"location / { return 200 "ok"; }"#,
            http: "client_header_buffer_size 2k; large_client_header_buffers 2 1k;")
        func status(_ request: String) -> Int? {
            let client = HTTPClient(port: server.port)
            defer { client.close() }
            client.send(request)
            return client.readResponse()?.status
        }
        let b900 = String(repeating: "b", count: 900)
        #expect(status("GET /\(String(repeating: "a", count: 1500)) HTTP/1.1\r\nHost: x\r\n\r\n") == 200)
        #expect(status("GET /\(String(repeating: "a", count: 2100)) HTTP/1.1\r\nHost: x\r\n\r\n") == 414)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nX-A: \(String(repeating: "b", count: 1500))\r\n\r\n") == 200)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nX-A: \(b900)\r\nX-B: \(b900)\r\nX-C: \(b900)\r\n\r\n") == 200)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<5).map { "X-\($0): \(b900)\r\n" }.joined() + "\r\n") == 400)
    }
}

/// `client_header_timeout` (http, server: the default server's) and `client_body_timeout`
/// (per location): a head or body that stops arriving closes its connection after it, and
/// not before.
@Suite struct ReadTimeoutTests {
    @Test func headAndBodyTimeoutsClose() throws {
        let server = try TestServer(
            server: #"""
                client_header_timeout 1s;
                location /slow { client_body_timeout 1s; content_by_lua_block { ngx.req.read_body() ngx.say("read") } }
                location /patient { content_by_lua_block { ngx.req.read_body() ngx.say("read") } }
                """#)
        let head = HTTPClient(port: server.port)
        defer { head.close() }
        head.send("GET / HTTP/1.1\r\nHost: x\r\n")
        let body = HTTPClient(port: server.port)
        defer { body.close() }
        body.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        let patient = HTTPClient(port: server.port)
        defer { patient.close() }
        patient.send("POST /patient HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc")
        // The sweep runs once a second: a 1 s timeout is seen two to three seconds in.
        Thread.sleep(forTimeInterval: 3.5)
        #expect(head.waitForClose())
        #expect(body.waitForClose())
        // The default 60 s still holds the other body: it completes.
        patient.send("defghij")
        #expect(patient.readAll().hasSuffix("read\n"))
    }
}

/// `large_client_header_buffers` and `underscores_in_headers`, answered as Debian's nginx
/// answers the same requests with the same settings.
@Suite struct RequestHeadLimitTests {
    @Test(arguments: ["http", "server"])
    func limitsAsNginx(level: String) throws {
        let settings = "large_client_header_buffers 2 1k; underscores_in_headers on;"
        let server = try TestServer(
            server: (level == "server" ? settings : "") + #"location / { return 200 "ok $http_x_a_b"; }"#,
            http: level == "http" ? settings : "")
        func status(_ request: String) -> Int? {
            let client = HTTPClient(port: server.port)
            defer { client.close() }
            client.send(request)
            return client.readResponse()?.status
        }
        let long = String(repeating: "a", count: 2000)
        let header = String(repeating: "b", count: 900)
        #expect(status("GET /\(long) HTTP/1.1\r\nHost: x\r\n\r\n") == 414)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nX-Long: \(long)\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nX-1: \(header)\r\nX-2: \(header)\r\nX-3: \(header)\r\n\r\n") == 200)
        #expect(status("GET /\(String(repeating: "a", count: 1000)) HTTP/1.1\r\nHost: x\r\n\r\n") == 200)
        #expect(server.get("/", headers: ["X_A_B: under"]).body == "ok under")
        // The default's 8k: a 2000-byte line passes where nothing is set.
        let plain = try TestServer(server: #"location / { return 200 "ok"; }"#)
        #expect(plain.get("/\(long)").status == 200)
    }
}
