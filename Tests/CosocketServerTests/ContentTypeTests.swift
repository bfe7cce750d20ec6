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
