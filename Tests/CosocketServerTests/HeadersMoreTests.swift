import Testing

@testable import CosocketServer

/// headers-more's four directives, `server_tokens`, and the order nginx writes a head in. The
/// expected heads are the ones Debian's nginx gives with the module loaded
/// (ngx_http_headers_more_filter_module.so), framing aside.
@Suite struct HeadersMoreTests {
    static let server = """
        server_tokens off;
        location /clear { more_clear_headers Date; content_by_lua_block { ngx.say("hi") } }
        location /clearall { more_clear_headers Date Server 'Content-Type'; content_by_lua_block { ngx.say("hi") } }
        location /set { set $v val; more_set_headers 'X-A: $v' 'Server: mine' 'X-Empty:';
            content_by_lua_block { ngx.header["X-Empty"] = "e"; ngx.say("hi") } }
        location /status { more_set_headers -s '404 500' 'X-S: yes'; more_set_headers -s 200 'X-T: ok'; return 404; }
        location /type { more_set_headers -t 'text/html' 'X-H: html'; more_set_headers -t 'text/plain' 'X-P: plain';
            content_by_lua_block { ngx.say("hi") } }
        location /ctype { more_set_headers 'Content-Type: text/foo'; content_by_lua_block { ngx.say("hi") } }
        location /wild { more_clear_headers 'X-*';
            content_by_lua_block { ngx.header["X-One"] = 1; ngx.header["X-Two"] = 2; ngx.header["Y-Three"] = 3; ngx.say("hi") } }
        location /input { more_set_input_headers 'X-In: $uri' 'User-Agent: faked';
            more_set_input_headers -r 'X-Missing: no' 'Accept: replaced'; more_clear_input_headers 'X-Gone';
            content_by_lua_block { local h = ngx.req.get_headers()
                ngx.say(h["x-in"], " ", h["user-agent"], " ", tostring(h["x-missing"]), " ", h["accept"], " ", tostring(h["x-gone"])) } }
        location /intype { more_set_input_headers -t 'text/plain' 'X-T: plain'; content_by_lua_block { ngx.say(tostring(ngx.var.http_x_t)) } }
        location /lua { content_by_lua_block { ngx.header.Server = "luaserver"; ngx.header["X-L"] = "1"; ngx.say("hi") } }
        location /inner { more_set_headers 'X-Inner: inner'; content_by_lua_block { ngx.say("hi") } }
        location /ifb { if ($arg_x) { more_set_headers 'X-If: yes'; } content_by_lua_block { ngx.say("hi") } }
        """

    static func head(_ server: TestServer, _ path: String, _ headers: String = "") -> [String] {
        let raw = server.exchange("GET \(path) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\n\r\n")
        let head = raw.split(separator: "\r\n\r\n", maxSplits: 1).first.map(String.init) ?? ""
        return head.split(separator: "\r\n").map(String.init).filter { !$0.hasPrefix("Date: ") || $0 == "Date: " }
    }

    static func body(_ server: TestServer, _ path: String, _ headers: String = "") -> String {
        let raw = server.exchange("GET \(path) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\n\r\n")
        return raw.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init) ?? ""
    }

    @Test func outputHeadersAreSetAndClearedAsTheModuleDoes() throws {
        let server = try TestServer(server: Self.server, http: "more_set_headers 'X-Outer: outer';")
        defer { server.stop() }
        let clear = server.exchange("GET /clear HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(!clear.contains("Date:"))
        #expect(clear.hasPrefix("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\nX-Outer: outer\r\n\r\n"))
        #expect(Self.head(server, "/clearall") == ["HTTP/1.1 200 OK", "Content-Length: 3", "Connection: close", "X-Outer: outer"])
        #expect(Self.head(server, "/set") == [
            "HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 3", "Connection: close", "X-Outer: outer", "X-A: val",
            "Server: mine",
        ])
        #expect(Self.head(server, "/status") == [
            "HTTP/1.1 404 Not Found", "Server: nginx", "Content-Type: text/html", "Content-Length: 146", "Connection: close",
            "X-Outer: outer", "X-S: yes",
        ])
        #expect(Self.body(server, "/status").contains("<hr><center>nginx</center>"))
        #expect(Self.head(server, "/type").suffix(2) == ["X-Outer: outer", "X-P: plain"])
        #expect(Self.head(server, "/ctype").contains("Content-Type: text/foo"))
        #expect(!Self.head(server, "/ctype").contains("Content-Type: text/plain"))
        #expect(Self.head(server, "/wild").suffix(1) == ["Y-Three: 3"])
        // A handler's `Server` replaces nginx's and goes out with the other headers.
        #expect(Self.head(server, "/lua") == [
            "HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 3", "Connection: close", "Server: luaserver", "X-L: 1",
            "X-Outer: outer",
        ])
        // Inner levels add to the outer ones; `location if` takes them too.
        #expect(Self.head(server, "/inner").suffix(2) == ["X-Outer: outer", "X-Inner: inner"])
        #expect(Self.head(server, "/ifb?x=1").suffix(2) == ["X-Outer: outer", "X-If: yes"])
        #expect(Self.head(server, "/ifb").last == "X-Outer: outer")
    }

    @Test func inputHeadersAreSetBeforeTheHandlersRun() throws {
        let server = try TestServer(server: Self.server)
        defer { server.stop() }
        #expect(Self.body(server, "/input", "X-Gone: 1\r\nAccept: a\r\n") == "/input faked nil replaced nil\n")
        // `-t` compares the request's Content-Type whole.
        #expect(Self.body(server, "/intype", "Content-Type: text/plain\r\n") == "plain\n")
        #expect(Self.body(server, "/intype", "Content-Type: text/plain; charset=utf-8\r\n") == "nil\n")
    }

    @Test func serverTokensOnNamesUsAndErrorPagesFollow() throws {
        let server = try TestServer(server: "location / { return 404; }")
        defer { server.stop() }
        let raw = server.exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(raw.contains("\r\nServer: cosocket\r\n"))
        #expect(raw.contains("<hr><center>cosocket</center>"))
    }

    /// nginx's `add_header` (checked with ref-nginx): its statuses, `always`, empty values,
    /// and a level with its own replacing the outer level's.
    @Test func addHeaderAddsAsNginxDoes() throws {
        let server = try TestServer(
            server: """
                location /a { content_by_lua_block { ngx.header["X-L"] = "l" ngx.say("a") } }
                location /b { add_header X-B "$uri"; add_header X-Empty "$arg_none"; add_header X-E always always; return 404; }
                location /c { add_header X-C c; add_header X-Always yes always; return 500; }
                location /d { if ($arg_x) { add_header X-If if; } content_by_lua_block { ngx.say("d") } }
                """,
            http: "add_header X-Http http;")
        defer { server.stop() }
        #expect(Self.head(server, "/a").suffix(2) == ["X-L: l", "X-Http: http"])
        #expect(Self.head(server, "/b").last == "X-E: always")
        #expect(!Self.head(server, "/b").contains { $0.hasPrefix("X-B") || $0.hasPrefix("X-Empty") || $0.hasPrefix("X-Http") })
        #expect(Self.head(server, "/c").last == "X-Always: yes")
        #expect(!Self.head(server, "/c").contains("X-C: c"))
        #expect(Self.head(server, "/d?x=1").last == "X-If: if")
        #expect(Self.head(server, "/d").last == "X-Http: http")
    }

    @Test func badOptionsAreConfigurationErrors() {
        func location(_ body: String) -> String? {
            configurationError("events {}\nhttp { server { listen 127.0.0.1:1; location / { \(body) } } }")
        }
        #expect(location("more_set_headers -s abc 'X: y';")?.contains("invalid status code \"abc\"") == true)
        #expect(location("more_set_headers -s;")?.contains("option -s takes an argument") == true)
        #expect(location("more_clear_headers;") != nil)
        #expect(location("more_set_headers 'X: y';") == nil)
        #expect(configurationError("more_set_headers 'X: y';\nevents {}\nhttp {}")?.contains("not allowed here") == true)
    }
}
