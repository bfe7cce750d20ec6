import Testing

@testable import CosocketServer

/// echo-nginx-module's content directives. Expected bodies are Debian's nginx's with
/// ngx_http_echo_module.so loaded, for the same configuration.
@Suite struct EchoTests {
    static let server = """
        location /a { echo hello world; echo; echo -n "x"; echo -n; echo -- -n; echo "$uri?$args" "[${arg_q}]"; }
        location /dup { echo_duplicate 3 "ab"; echo_duplicate 1 "\\n"; }
        location /sleep { echo_reset_timer; echo_sleep 0.1; echo "slept"; echo_flush; echo done; }
        location /st { echo_status 404; echo "nope"; }
        location /split { echo_foreach_split ',' $arg_list; echo "item: $echo_it"; echo_end; echo end; }
        location /body { echo_read_request_body; echo_request_body; echo; echo "m=$echo_request_method"; }
        location /bb { echo_before_body before; echo_after_body after; echo middle; }
        location ~ ^/cap/(\\w+) { echo "cap $1"; }
        location /iff { if ($arg_x) { echo "in if"; } echo "outside"; }
        location /bytes { echo "tab\\there \\"quoted\\" back\\\\slash 1"; }
        location /timer { echo_sleep 0.05; echo $echo_timer_elapsed; }
        """

    @Test func directivesAnswerAsTheModuleDoes() throws {
        let server = try TestServer(server: Self.server)
        defer { server.stop() }
        #expect(server.get("/a?q=1").body == "hello world\n\nx-n\n/a?q=1 [1]\n")
        #expect(server.get("/dup").body == "ababab\n")
        #expect(server.get("/sleep").body == "slept\ndone\n")
        let status = server.get("/st")
        #expect(status.status == 404)
        #expect(status.body == "nope\n")
        #expect(server.get("/split?list=a,b,,c").body == "item: a\nitem: b\nitem: c\nend\n")
        #expect(server.get("/bb").body == "before\nmiddle\nafter\n")
        #expect(server.get("/cap/xyz").body == "cap xyz\n")
        #expect(server.get("/iff?x=1").body == "in if\n")
        #expect(server.get("/iff").body == "outside\n")
        #expect(server.get("/bytes").body == "tab\there \"quoted\" back\\slash 1\n")
        let elapsed = Double(server.get("/timer").body.trimmingSpaces().replacing("\n", with: "")) ?? 0
        #expect(elapsed >= 0.04 && elapsed < 5)
        let body = server.exchange("POST /body HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        #expect(body.hasSuffix("\r\n\r\nhello\nm=POST\n"))
    }

    @Test func misuseIsAConfigurationError() {
        func location(_ body: String) -> String? {
            configurationError("events {}\nhttp { server { listen 127.0.0.1:1; location / { \(body) } } }")
        }
        #expect(location("echo_duplicate 3;") != nil)
        #expect(location("echo_status abc;")?.contains("invalid status code") == true)
        #expect(location("echo_end;") != nil)
        #expect(location("echo_foreach_split , $arg_a; echo x;") != nil)
        #expect(location("echo_subrequest GET /x -z y;") != nil)
        #expect(location("echo hi;") == nil)
        #expect(configurationError("events {}\nhttp { echo hi; }")?.contains("not allowed here") == true)
    }
}

/// `env` and `$prefix` in `lua_package_path`, as the reference has them (checked with ref-nginx).
@Suite struct EnvironmentAndPrefixTests {
    @Test func envListsWhatOsGetenvSeesAndPrefixExpands() throws {
        let server = try TestServer(
            """
            env COSOCKET_TEST_SET=bar;
            env HOME;
            events {}
            http {
                lua_package_path "${prefix}html/?.lua;$prefix/html/?.lua;;";
                server {
                    listen 127.0.0.1:@PORT@;
                    location /t { content_by_lua_block {
                        ngx.say(require("mymod").x)
                        ngx.say(os.getenv("COSOCKET_TEST_SET"), " ", tostring(os.getenv("PATH")), " ", os.getenv("HOME") ~= nil)
                    } }
                }
            }
            """,
            files: ["html/mymod.lua": "return { x = 42 }"]
        )
        defer { server.stop() }
        #expect(server.get("/t").body == "42\nbar nil true\n")
    }

    @Test func envIsAMainLevelDirective() {
        #expect(configurationError("events {}\nhttp { env FOO; }")?.contains("not allowed here") == true)
        #expect(configurationError("env FOO=1;\nevents {}\nhttp {}") == nil)
    }
}
