import Testing

/// nginx's location matching rules, through HTTP: each location answers with its own name.
@Suite struct LocationRoutingTests {
    static func named(_ name: String) -> String {
        "content_by_lua_block { ngx.print(\"\(name)\") }"
    }

    @Test func eachRuleThroughHTTP() throws {
        let server = try TestServer(server: """
            location = / { \(Self.named("exact-root")) }
            location / { \(Self.named("root-prefix")) }
            location /docs { \(Self.named("docs-prefix")) }
            location /docs/api { \(Self.named("docs-api-prefix")) }
            location = /docs/api { \(Self.named("docs-api-exact")) }
            location ^~ /static/ { \(Self.named("static-no-regex")) }
            location ~ \\.php$ { \(Self.named("php-regex")) }
            location ~* \\.(png|jpg)$ { \(Self.named("image-regex-caseless")) }
            location ~ ^/docs/.*\\.txt$ { \(Self.named("docs-txt-regex")) }
            location ~ \\.txt$ { \(Self.named("txt-regex")) }
            location /images {
                \(Self.named("images-prefix"))
                location ~ \\.gif$ { \(Self.named("images-nested-gif")) }
                location /images/thumbs { \(Self.named("images-nested-thumbs")) }
            }
            """)
        let expectations: [(String, String)] = [
            ("/", "exact-root"),
            ("/other", "root-prefix"),
            ("/docs", "docs-prefix"),
            ("/docsx", "docs-prefix"),
            ("/docs/api", "docs-api-exact"),           // exact beats the longer-or-equal prefix
            ("/docs/api/v1", "docs-api-prefix"),       // longest prefix
            ("/docs/readme.txt", "docs-txt-regex"),    // regexes in order: the first match wins
            ("/other/readme.txt", "txt-regex"),
            ("/static/app.php", "static-no-regex"),    // ^~ stops the regex search
            ("/index.php", "php-regex"),               // a regex beats the / prefix
            ("/index.PHP", "root-prefix"),             // ~ is case-sensitive
            ("/logo.PNG", "image-regex-caseless"),     // ~* is not
            ("/images/a.gif", "images-nested-gif"),    // nested regex inside the prefix's block
            ("/images/thumbs/a.png", "image-regex-caseless"),  // the outer regex still wins over nested prefixes
            ("/images/thumbs/x", "images-nested-thumbs"),
            ("/images/x", "images-prefix"),
        ]
        for (path, name) in expectations {
            let response = server.get(path)
            #expect(response.status == 200, "\(path)")
            #expect(response.body == name, "\(path)")
        }
    }

    @Test func exactMatchBeatsEverything() throws {
        let server = try TestServer(server: """
            location ~ ^/exact$ { \(Self.named("regex")) }
            location ^~ /exact { \(Self.named("no-regex")) }
            location = /exact { \(Self.named("exact")) }
            """)
        #expect(server.get("/exact").body == "exact")
        #expect(server.get("/exact/more").body == "no-regex")
    }

    @Test func noMatchingLocationIs404AndQueryIsNotMatched() throws {
        let server = try TestServer(server: """
            location = /only { \(Self.named("only")) }
            location ~ \\?x$ { \(Self.named("query-regex")) }
            """)
        let missing = server.get("/none")
        #expect(missing.status == 404)
        #expect(missing.body.contains("<center><h1>404 Not Found</h1></center>"))
        // The query string is not part of the matched URI.
        #expect(server.get("/only?x").body == "only")
    }

    @Test func percentEncodedURIsMatchDecoded() throws {
        let server = try TestServer(server: "location = /a b { \(Self.named("space")) }".replacing("/a b", with: "\"/a b\""))
        #expect(server.get("/a%20b").body == "space")
    }

    @Test func locationsMatchTheNormalizedPath() throws {
        let server = try TestServer(server: """
            location = /a/b { \(Self.named("exact")) }
            location ^~ /private/ { \(Self.named("private")) }
            location / { content_by_lua_block { ngx.print(ngx.var.uri, "|", ngx.var.request_uri, "|", tostring(ngx.var.args)) } }
            """)
        #expect(server.get("//a///b").body == "exact")
        #expect(server.get("/a/./b").body == "exact")
        #expect(server.get("/x/../a/b").body == "exact")
        #expect(server.get("/a%2Fb").body == "exact")
        // A dot segment cannot step around a prefix location.
        #expect(server.get("/public/../private/key").body == "private")
        // $uri is decoded and normalized; $request_uri and $args stay as sent.
        #expect(server.get("/c%20d//e/.?q=%20/..").body == "/c d/e/|/c%20d//e/.?q=%20/..|q=%20/..")
    }

    @Test(arguments: ["/..", "/a/../../b", "/%2e%2e/x", "/bad%zz", "/nul%00"])
    func unnormalizablePathsAreBadRequests(path: String) throws {
        let server = try TestServer(server: "location / { \(Self.named("root")) }")
        let response = server.exchange("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(response.contains("Connection: close"))
    }
}
