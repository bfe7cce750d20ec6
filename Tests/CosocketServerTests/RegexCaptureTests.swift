import Testing

@testable import CosocketServer

/// `location ~`/`~*` and `server_name ~` on PCRE2, with their captures as `ngx.var[n]` and
/// named variables, through real requests (the outputs are the reference's, from
/// `ref-nginx` with the same configuration).
@Suite struct RegexCaptureTests {
    static let configuration = """
        worker_processes 1;
        events {}
        http {
            server {
                listen 127.0.0.1:@PORT@;
                server_name ~^(?<sub>\\w+)\\.(ex)\\.com$;
                location ~ ^/a/(?<first>[^/]+)/(\\d+)(/x)?$ {
                    content_by_lua_block {
                        ngx.print(tostring(ngx.var[0]), " ", ngx.var[1], " ", ngx.var[2], " ", tostring(ngx.var[3]), " ",
                            tostring(ngx.var[4]), " ", ngx.var.first, " ", tostring(ngx.var.sub), " ", tostring(ngx.var["1"]))
                    }
                }
                location ~* ^/B/(.*) { content_by_lua_block { ngx.print(tostring(ngx.var[1]), " ", tostring(ngx.var.sub)) } }
                location ~ \\D\\.txt$ { return 200 "not a digit"; }
                location / {
                    content_by_lua_block { ngx.print(tostring(ngx.var[1]), " ", tostring(ngx.var[2]), " ", tostring(ngx.var.sub)) }
                }
            }
            server {
                listen 127.0.0.1:@PORT@ default_server;
                server_name ~^(?P<digits>\\d+)\\.NUM$;
                location / { content_by_lua_block { ngx.print(tostring(ngx.var.digits), " ", tostring(ngx.var[1])) } }
            }
        }
        """

    @Test func locationAndServerNameCaptures() throws {
        let server = try TestServer(Self.configuration)
        let host = ["Host: www.ex.com"]
        #expect(server.get("/a/foo/12", headers: host).body == "nil foo 12 nil nil foo www nil")
        #expect(server.get("/a/foo/12/x", headers: host).body == "nil foo 12 /x nil foo www nil")
        // `~*` is caseless; the location's captures replace the server name's `$1`.
        #expect(server.get("/b/ZZ", headers: host).body == "ZZ www")
        // A prefix location keeps the server name's captures.
        #expect(server.get("/other", headers: host).body == "www ex www")
        // A regex name keeps its case: `\D` is not `\d`.
        #expect(server.get("/a.txt", headers: host).body == "not a digit")
        #expect(server.get("/1.txt", headers: host).body == "www ex www")
        // `(?P<name>` and a caseless server name; the host is compared lower-cased.
        #expect(server.get("/", headers: ["Host: 42.num"]).body == "42 42")
        #expect(server.get("/", headers: ["Host: other"]).body == "nil nil")
    }

    @Test func badLocationRegexIsAConfigurationError() {
        let text = """
            events {} http { server { listen 127.0.0.1:8080; location ~ ^/(unclosed { return 200; } } }
            """
        #expect(throws: ConfigError.self) { try ConfigurationBuilder(prefix: "/tmp").build(try ConfigParser().parse(text, file: "t.conf")) }
    }
}
