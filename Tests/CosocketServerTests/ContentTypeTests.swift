import Testing

@testable import CosocketServer

/// A response that sets no Content-Type gets one by the path's extension from `types` (nginx's
/// built-in html/gif/jpg map until a `types` block replaces it), else `default_type`; the
/// expectations are the reference's answers to the same configuration (`ref-nginx`).
@Suite struct ContentTypeTests {
    @Test func typesByExtensionThenDefaultType() throws {
        let server = try TestServer(
            server: """
                location /a { content_by_lua_block { ngx.say("x") } }
                location /b { types { application/json json; } content_by_lua_block { ngx.say("x") } }
                location /c { content_by_lua_block { ngx.header["Content-Type"] = "x/y" ngx.say("x") } }
                """,
            http: "default_type text/plain;"
        )
        let expected = [
            "/a/x.html": "text/html", "/a/x.HTML": "text/html", "/a/x": "text/plain", "/a/x.gif": "image/gif",
            "/b/x.json": "application/json", "/b/x.html": "text/plain", "/c/x.html": "x/y",
            "/a/x.html?q=1.jpg": "text/html", "/a.d/x": "text/plain",
        ]
        for (path, type) in expected {
            let header = server.get(path).headers.first { $0.name.lowercased() == "content-type" }?.value
            #expect(header == type, "\(path)")
        }
    }
}

/// `keepalive_requests N`: the Nth request on a connection is answered with
/// `Connection: close` and the connection ends, as nginx does.
@Suite struct KeepaliveRequestsTests {
    @Test func theNthRequestClosesTheConnection() throws {
        let server = try TestServer(server: "location / { content_by_lua_block { ngx.print(\"ok\") } }", http: "keepalive_requests 2;")
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send(String(repeating: "GET / HTTP/1.1\r\nHost: t\r\n\r\n", count: 3))
        let first = client.readResponse()
        let second = client.readResponse()
        #expect(first?.body == "ok")
        #expect(first?.headers.contains { $0.name.lowercased() == "connection" && $0.value == "close" } == false)
        #expect(second?.body == "ok")
        #expect(second?.headers.contains { $0.name.lowercased() == "connection" && $0.value.lowercased() == "close" } == true)
        #expect(client.readResponse() == nil)
    }
}
