import Testing

@testable import CosocketServer

/// `server_name` selection among servers on one address, in nginx's order.
@Suite struct ServerNameTests {
    static func router(_ servers: [(names: [String], server: String)], defaultIndex: Int? = nil) throws -> ServerNameRouter<String> {
        try ServerNameRouter(servers, defaultIndex: defaultIndex)
    }

    @Test(arguments: [
        ("example.com", "exact"),
        ("EXAMPLE.com:8080", "exact"),
        ("example.com.", "exact"),
        ("www.example.com", "leading"),
        ("a.b.example.com", "leading"),
        ("api.example.org", "dot"),
        ("example.org", "dot"),
        ("www.example.net", "trailing"),
        ("www.example.de", "trailing"),
        ("www7.sample.io", "regex"),
        ("unknown.host", "first"),
        ("", "first"),
    ])
    func picksByExactThenWildcardsThenRegex(host: String, expected: String) throws {
        let router = try Self.router([
            (["first.test"], "first"),
            (["~^www\\d+\\.sample\\.io$"], "regex"),
            (["www.example.*"], "trailing"),
            (["*.example.com"], "leading"),
            ([".example.org"], "dot"),
            (["example.com"], "exact"),
        ])
        #expect(router.server(forHost: host) == expected)
    }

    @Test func longerWildcardsWin() throws {
        let router = try Self.router([(["x"], "x"), (["*.com"], "short"), (["*.example.com"], "long")])
        #expect(router.server(forHost: "www.example.com") == "long")
        #expect(router.server(forHost: "www.other.com") == "short")
    }

    @Test func defaultServerAnswersUnknownNames() throws {
        let router = try Self.router([(["a.test"], "a"), (["b.test"], "b")], defaultIndex: 1)
        #expect(router.server(forHost: "a.test") == "a")
        #expect(router.server(forHost: "c.test") == "b")
        #expect(router.server(forHost: nil) == "b")
    }

    @Test func oneServerIgnoresTheHost() throws {
        let router = try Self.router([(["only.test"], "only")])
        #expect(!router.dependsOnHost)
        #expect(router.server(forHost: "other.test") == "only")
    }

    @Test func badRegexIsAConfigurationError() {
        #expect(throws: ConfigError.self) { _ = try Self.router([(["~(unclosed"], "bad"), (["x"], "x")]) }
    }

    @Test func twoServersOnOnePortAnswerByHost() throws {
        let server = try TestServer("""
            worker_processes 1;
            events {}
            http {
                server {
                    listen 127.0.0.1:@PORT@;
                    server_name first.test;
                    location / { return 200 "first"; }
                }
                server {
                    listen 127.0.0.1:@PORT@ default_server;
                    server_name second.test *.second.test;
                    location / { content_by_lua_block { ngx.print("second ", ngx.var.host) } }
                }
            }
            """)
        #expect(server.get("/", headers: ["Host: first.test"]).body == "first")
        #expect(server.get("/", headers: ["Host: api.second.test"]).body == "second api.second.test")
        // The harness sends `Host: test`: no name matches, so the default server answers.
        #expect(server.get("/").body == "second test")
    }

    @Test func duplicateDefaultServersAreRejected() throws {
        let text = """
            events {} http {
                server { listen 127.0.0.1:8080 default_server; }
                server { listen 127.0.0.1:8080 default_server; }
            }
            """
        #expect(throws: ConfigError.self) { try ConfigurationBuilder(prefix: "/tmp").build(try ConfigParser().parse(text, file: "t.conf")) }
    }
}
