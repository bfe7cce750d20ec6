import Testing

@testable import CosocketServer

/// nginx's static module for locations without a content handler (and requests no location
/// matches). The expected heads are Debian's nginx's for the same files and configuration.
@Suite struct StaticFileTests {
    static func head(_ raw: String) -> [String] {
        (raw.split(separator: "\r\n\r\n", maxSplits: 1).first.map(String.init) ?? "").split(separator: "\r\n").map(String.init)
            .filter { !$0.hasPrefix("Date: ") && !$0.hasPrefix("Last-Modified: ") && !$0.hasPrefix("ETag: ") }
    }

    @Test func filesDirectoriesAndErrorsAsNginxServesThem() throws {
        let server = try TestServer(
            server: """
                server_tokens off;
                location /acc { access_by_lua_block { ngx.header["X-Acc"] = "1" } }
                location /sub/ { index missing.html second.html; }
                """,
            files: [
                "html/a.txt": "hello file\n", "html/dir/index.html": "<b>idx</b>\n", "html/empty/.keep": "",
                "html/index.html": "root index\n", "html/sub/second.html": "second\n",
            ]
        )
        defer { server.stop() }
        let file = server.exchange("GET /a.txt HTTP/1.0\r\nHost: x\r\n\r\n")
        #expect(Self.head(file) == ["HTTP/1.1 200 OK", "Server: nginx", "Content-Type: text/plain", "Content-Length: 11", "Connection: close", "Accept-Ranges: bytes"])
        #expect(file.hasSuffix("\r\n\r\nhello file\n"))
        let lastModified = file.split(separator: "\r\n").first { $0.hasPrefix("Last-Modified: ") }.map { String($0.dropFirst(15)) } ?? ""
        #expect(file.contains(/\r\nContent-Length: 11\r\nLast-Modified: [^\r]+ GMT\r\nConnection: close\r\nETag: "[0-9a-f]+-b"\r\n/))
        #expect(Self.head(server.exchange("GET /dir HTTP/1.0\r\nHost: x\r\n\r\n")).contains("Location: http://x:\(server.port)/dir/"))
        #expect(server.get("/dir/").body == "<b>idx</b>\n")
        #expect(server.get("/").body == "root index\n")
        #expect(server.get("/sub/").body == "second\n")
        #expect(server.get("/empty/").status == 403)
        #expect(server.log.contains("directory index of \"\(server.prefix)/html/empty/\" is forbidden"))
        #expect(server.get("/missing.txt").status == 404)
        #expect(server.log.contains("open() \"\(server.prefix)/html/missing.txt\" failed (2: No such file or directory)"))
        // After the Lua phases of a location without content, as nginx's static module.
        let acc = server.get("/acc")
        #expect(acc.status == 404)
        #expect(acc.header("X-Acc") == "1")
        #expect(server.exchange("POST /a.txt HTTP/1.0\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 405 Not Allowed\r\n"))
        let notModified = server.exchange("GET /a.txt HTTP/1.0\r\nIf-Modified-Since: \(lastModified)\r\n\r\n")
        #expect(notModified.hasPrefix("HTTP/1.1 304 Not Modified\r\n"))
        #expect(notModified.hasSuffix("\r\n\r\n"))
        let headOnly = server.exchange("HEAD /a.txt HTTP/1.0\r\n\r\n")
        #expect(headOnly.contains("Content-Length: 11\r\n"))
        #expect(headOnly.hasSuffix("\r\n\r\n"))
    }

    @Test func aliasReplacesTheLocationPrefix() throws {
        let prefix = makeTemporaryDirectory()
        writeFile(prefix + "/other/x.css", "aliased\n")
        let server = try TestServer(server: "location /al/ { alias \(prefix)/other/; }")
        defer { server.stop() }
        let response = server.get("/al/x.css")
        #expect(response.body == "aliased\n")
        // nginx's built-in types know no css without mime.types: default_type.
        #expect(response.header("Content-Type") == "text/plain")
    }

    /// `internal`: a 404 for the client, reachable by an internal redirect (as nginx).
    @Test func internalLocationsAreNotTheClientsToAskFor() throws {
        let server = try TestServer(server: """
            location /hidden { internal; content_by_lua_block { ngx.say("hidden") } }
            location /go { rewrite ^ /hidden last; }
            """)
        defer { server.stop() }
        #expect(server.get("/hidden").status == 404)
        #expect(server.get("/go").body == "hidden\n")
    }

    /// `allow`/`deny`: the first matching rule decides, before `access_by_lua*`; a level with
    /// rules of its own replaces the outer level's (checked with ref-nginx).
    @Test func allowAndDenyDecideByTheFirstMatchingRule() throws {
        let server = try TestServer(server: """
            deny all;
            location /open { allow 127.0.0.0/8; deny all; content_by_lua_block { ngx.say("open") } }
            location /closed { deny 127.0.0.1; allow all; access_by_lua_block { ngx.log(ngx.ERR, "ran") } content_by_lua_block { ngx.say("no") } }
            location /six { allow ::1; deny all; content_by_lua_block { ngx.say("six") } }
            location /inherited { content_by_lua_block { ngx.say("no") } }
            """)
        defer { server.stop() }
        #expect(server.get("/open").body == "open\n")
        #expect(server.get("/closed").status == 403)
        #expect(server.log.contains("access forbidden by rule"))
        #expect(!server.log.contains("ran"))
        #expect(server.get("/six").status == 403)
        #expect(server.get("/inherited").status == 403)
        #expect(configurationError("events {}\nhttp { server { listen 127.0.0.1:1; allow 300.1.1.1; } }")?.contains("invalid parameter") == true)
    }

    @Test func accessRulesMatchNetworks() throws {
        func rule(_ text: String, allows: Bool = true) -> AccessRule {
            let parts = text.split(separator: "/")
            let address = AccessRule.address(String(parts[0]))!
            return AccessRule(allows: allows, match: .network(address, prefix: parts.count == 2 ? Int(parts[1])! : address.count * 8))
        }
        let client = AccessRule.address("192.168.1.77")
        #expect(rule("192.168.1.0/24").matches(client))
        #expect(rule("192.168.1.64/26").matches(client))
        #expect(!rule("192.168.1.0/26").matches(client))
        #expect(rule("0.0.0.0/0").matches(client))
        #expect(rule("192.168.1.0/24").matches(AccessRule.address("::ffff:192.168.1.5")))
        #expect(!rule("::1").matches(client))
        #expect(rule("2001:db8::/32").matches(AccessRule.address("2001:db8:1::5")))
        #expect(!rule("2001:db8::/33").matches(AccessRule.address("2001:db8:8000::5")))
        #expect(AccessRule(allows: true, match: .unix).matches(nil))
        #expect(AccessRule.allows([rule("10.0.0.0/8", allows: false)], client))
    }
}
