import Testing
@testable import CosocketServer

/// Shorthand: `loc("= /", "A")`, `loc("~* \\.gif$", "E", [...])`.
private func loc(_ spec: String, _ payload: String, _ nested: [LocationDefinition<String>] = []) -> LocationDefinition<String> {
    let args = spec.split(separator: " ", maxSplits: 1).map(String.init)
    // Specs in these tests are always valid.
    let pattern = (try? LocationPattern(arguments: args)) ?? LocationPattern(.prefix, "<invalid>")
    return LocationDefinition(pattern, payload: payload, nested: nested)
}

private func matcher(_ defs: [LocationDefinition<String>]) throws -> LocationMatcher<String> {
    try LocationMatcher(defs)
}

@Suite("Location matcher")
struct LocationMatcherTests {
    /// The example from the nginx documentation of `location`.
    static let docs = [
        loc("= /", "A"),
        loc("/", "B"),
        loc("/documents/", "C"),
        loc("^~ /images/", "D"),
        loc("~* \\.(gif|jpg|jpeg)$", "E"),
    ]

    @Test(arguments: [
        ("/", "A"),
        ("/index.html", "B"),
        ("/documents/document.html", "C"),
        ("/images/1.gif", "D"),
        ("/documents/1.jpg", "E"),
        // Beyond the documented rows:
        ("/documents/1.JPG", "E"),        // ~* is case-insensitive
        ("/x.gif", "E"),
        ("/images", "B"),                 // "/images/" is not a prefix of "/images"
        ("/documents", "B"),              // no auto-redirect emulation (see LocationMatcher docs)
        ("/Documents/a.html", "B"),       // prefixes are case-sensitive
    ])
    func nginxDocumentationExample(uri: String, expected: String) throws {
        #expect(try matcher(Self.docs).match(uri: uri)?.payload == expected)
    }

    @Test func exactMatchWinsOverRegexAndSharesNameWithPrefix() throws {
        let m = try matcher([loc("/x", "prefix"), loc("= /x", "exact"), loc("~ ^/x", "regex")])
        #expect(m.match(uri: "/x")?.payload == "exact")
        #expect(m.match(uri: "/x")?.pattern == LocationPattern(.exact, "/x"))
        #expect(m.match(uri: "/x/")?.payload == "regex")
        #expect(m.match(uri: "/y") == nil)
    }

    @Test func longestPrefixWinsRegardlessOfOrder() throws {
        let m = try matcher([loc("/a/bc", "abc"), loc("/a", "a"), loc("/a/b", "ab"), loc("/", "root")])
        #expect(m.match(uri: "/a/bcd")?.payload == "abc")
        #expect(m.match(uri: "/a/b")?.payload == "ab")
        #expect(m.match(uri: "/a/x")?.payload == "a")
        #expect(m.match(uri: "/abc")?.payload == "a")  // byte prefix, not path segment
        #expect(m.match(uri: "/b")?.payload == "root")
        #expect(m.match(uri: "/")?.payload == "root")
    }

    @Test func regexesAreTriedInConfigurationOrder() throws {
        let m = try matcher([loc("/", "root"), loc("~ \\.php$", "php"), loc("~ ^/admin", "admin"), loc("~ \\.PNG$", "png")])
        #expect(m.match(uri: "/admin/index.php")?.payload == "php")
        #expect(m.match(uri: "/admin/index.html")?.payload == "admin")
        #expect(m.match(uri: "/a.png")?.payload == "root")  // ~ is case-sensitive
        #expect(m.match(uri: "/a.PNG")?.payload == "png")
    }

    @Test func noRegexOnlyWhenItIsTheLongestPrefix() throws {
        let m = try matcher([loc("^~ /images/", "noregex"), loc("/images/special/", "special"), loc("~ \\.gif$", "gif")])
        #expect(m.match(uri: "/images/a.gif")?.payload == "noregex")
        #expect(m.match(uri: "/images/special/a.gif")?.payload == "gif")
        #expect(m.match(uri: "/images/special/a.txt")?.payload == "special")
    }

    @Test func nestedLocations() throws {
        let m = try matcher([
            loc("/api/", "api", [
                loc("/api/v1/", "v1"),
                loc("= /api/exact", "api-exact"),
                loc("~ \\.json$", "api-json"),
            ]),
            loc("~ \\.json$", "top-json"),
            loc("/", "root"),
        ])
        #expect(m.match(uri: "/api/x")?.payload == "api")
        #expect(m.match(uri: "/api/v1/x")?.payload == "v1")
        #expect(m.match(uri: "/api/exact")?.payload == "api-exact")
        #expect(m.match(uri: "/api/x.json")?.payload == "api-json")     // nested regex beats top-level regex
        #expect(m.match(uri: "/api/v1/x.json")?.payload == "api-json")  // nested level's regexes follow its prefix
        #expect(m.match(uri: "/other.json")?.payload == "top-json")
        #expect(m.match(uri: "/other")?.payload == "root")
    }

    @Test func nestedNoRegexDoesNotDisableOuterRegexes() throws {
        // ngx_http_core_find_location keeps `noregex` per level.
        let m = try matcher([loc("/a/", "a", [loc("^~ /a/b/", "ab")]), loc("~ \\.gif$", "gif")])
        #expect(m.match(uri: "/a/b/x.txt")?.payload == "ab")
        #expect(m.match(uri: "/a/b/x.gif")?.payload == "gif")
    }

    @Test func outerNoRegexDisablesOuterRegexesOnly() throws {
        let m = try matcher([loc("^~ /s/", "s", [loc("~ \\.gif$", "inner-gif")]), loc("~ \\.gif$", "outer-gif")])
        #expect(m.match(uri: "/s/x.gif")?.payload == "inner-gif")
        #expect(m.match(uri: "/s/x.png")?.payload == "s")
    }

    @Test func locationsNestedInRegexLocations() throws {
        let m = try matcher([loc("~ ^/r/", "r", [loc("~ \\.txt$", "txt")])])
        #expect(m.match(uri: "/r/a.txt")?.payload == "txt")
        #expect(m.match(uri: "/r/a")?.payload == "r")
        #expect(m.match(uri: "/a.txt") == nil)
    }

    @Test func captures() throws {
        let m = try matcher([
            loc("/", "root"),
            loc("~ ^/user/(\\d+)/(?<action>\\w+)(/(x))?$", "user"),
            loc("~* ^/py/(?P<name>[a-z]+)$", "py"),
        ])
        let user = try #require(m.match(uri: "/user/42/edit"))
        #expect(user.payload == "user")
        #expect(user.captures[0] == "/user/42/edit")
        #expect(user.captures[1] == "42" && user.captures[2] == "edit")
        #expect(user.captures[3] == nil && user.captures[4] == nil && user.captures[9] == nil)
        #expect(user.captures["action"] == "edit")
        #expect(m.match(uri: "/user/7/view/x")?.captures[4] == "x")
        #expect(m.match(uri: "/PY/Abc")?.captures["name"] == "Abc")
        #expect(m.match(uri: "/plain")?.captures == LocationCaptures.none)
        #expect(m.match(uri: "/usér/1/a")?.payload == "root")
    }

    @Test func nestedRegexCapturesReplaceOuterOnes() throws {
        let m = try matcher([loc("~ ^/(a)/", "outer", [loc("~ /(b)$", "inner")])])
        #expect(m.match(uri: "/a/b")?.captures[1] == "b")
        #expect(m.match(uri: "/a/c")?.captures[1] == "a")
    }

    @Test func unicodeURIs() throws {
        let m = try matcher([loc("/café/", "cafe"), loc("/", "root"), loc("~ ü$", "u")])
        #expect(m.match(uri: "/café/menu")?.payload == "cafe")
        #expect(m.match(uri: "/cafe/menu")?.payload == "root")
        #expect(m.match(uri: "/über/ü")?.payload == "u")
    }

    @Test func namedLocations() throws {
        let m = try matcher([loc("@fallback", "first"), loc("@fallback", "second"), loc("/", "root")])
        #expect(m.named("@fallback") == "first")
        #expect(m.named("fallback") == nil && m.named("@other") == nil)
        #expect(m.match(uri: "@fallback") == nil)  // "/" is not a prefix of it
        #expect(m.match(uri: "")  == nil)
        #expect(try matcher([loc("@x", "x")]).match(uri: "@x") == nil)
    }

    @Test func emptyMatcher() throws {
        #expect(try matcher([]).match(uri: "/") == nil)
    }

    @Test func buildErrors() {
        func error(_ defs: [LocationDefinition<String>]) -> String? {
            do { _ = try LocationMatcher(defs); return nil } catch { return error.description }
        }
        #expect(error([loc("/a", "1"), loc("/a", "2")]) == "duplicate location \"/a\"")
        #expect(error([loc("^~ /a", "1"), loc("/a", "2")]) == "duplicate location \"/a\"")
        #expect(error([loc("= /a", "1"), loc("= /a", "2")]) == "duplicate location \"/a\"")
        #expect(error([loc("~ a", "1"), loc("~ a", "2")]) == nil)  // nginx allows repeated regexes
        #expect(error([loc("= /a", "1", [loc("/a/b", "2")])]) == "location \"/a/b\" cannot be inside the exact location \"/a\"")
        #expect(error([loc("@n", "1", [loc("/a", "2")])]) == "location \"/a\" cannot be inside the named location \"@n\"")
        #expect(error([loc("/a", "1", [loc("@n", "2")])]) == "named location \"@n\" can be on the server level only")
        #expect(error([loc("/a/", "1", [loc("/b/", "2")])]) == "location \"/b/\" is outside location \"/a/\"")
        #expect(error([loc("/a/", "1", [loc("/a", "2")])]) == "location \"/a\" is outside location \"/a/\"")
        #expect(error([loc("/a/", "1", [loc("~ x", "2"), loc("/a/", "3")])]) == nil)
        let bad = error([LocationDefinition(LocationPattern(.regex, "^/(a"), payload: "x", file: "/n.conf", line: 9)])
        #expect(bad?.hasPrefix("pcre2_compile() failed: missing closing parenthesis in ") == true)
        #expect(bad?.hasSuffix(" in \"^/(a\" in /n.conf:9") == true)
        let dup = [LocationDefinition(LocationPattern(.prefix, "/"), payload: "1", file: "/n.conf", line: 3),
                   LocationDefinition(LocationPattern(.prefix, "/"), payload: "2", file: "/n.conf", line: 5)]
        #expect(error(dup) == "duplicate location \"/\" in /n.conf:5")
    }

    @Test func nestingDepthLimit() {
        var def = loc("/", "leaf")
        for _ in 0..<5 { def = loc("/", "p", [def]) }
        #expect(throws: Never.self) { try LocationMatcher([def], maxNestingDepth: 5) }
        #expect(throws: ConfigError.self) { try LocationMatcher([def], maxNestingDepth: 4) }
    }

    @Test(arguments: [
        (["/"], LocationPattern(.prefix, "/")),
        (["=", "/"], LocationPattern(.exact, "/")),
        (["=/x"], LocationPattern(.exact, "/x")),
        (["^~", "/i/"], LocationPattern(.prefixNoRegex, "/i/")),
        (["^~/i/"], LocationPattern(.prefix, "^~/i/")),  // as nginx: no modifier without a space
        (["~", "\\.php$"], LocationPattern(.regex, "\\.php$")),
        (["~\\.php$"], LocationPattern(.regex, "\\.php$")),
        (["~*", "\\.gif$"], LocationPattern(.caseInsensitiveRegex, "\\.gif$")),
        (["~*\\.gif$"], LocationPattern(.caseInsensitiveRegex, "\\.gif$")),
        (["@fallback"], LocationPattern(.named, "@fallback")),
    ])
    func patternParsing(args: [String], expected: LocationPattern) throws {
        #expect(try LocationPattern(arguments: args) == expected)
    }

    @Test func patternParsingErrorsAndDescription() throws {
        #expect(throws: ConfigError(.invalidLocationModifier("~~"), file: "f", line: 2)) {
            try LocationPattern(arguments: ["~~", "/x"], file: "f", line: 2)
        }
        #expect(throws: ConfigError(.invalidArgumentCount("location"))) { try LocationPattern(arguments: []) }
        #expect(throws: ConfigError(.invalidArgumentCount("location"))) { try LocationPattern(arguments: ["=", "/", "x"]) }
        #expect(LocationPattern(.caseInsensitiveRegex, "\\.gif$").description == "~* \\.gif$")
        #expect(LocationPattern(.prefixNoRegex, "/i/").description == "^~ /i/")
        #expect(LocationPattern(.exact, "/").description == "= /")
    }

    @Test func buildFromParsedConfig() throws {
        let conf = """
        server {
            location = / { return 200 A; }
            location / { return 200 B; }
            location /documents/ { return 200 C; }
            location ^~ /images/ { return 200 D; }
            location ~* "\\.(gif|jpg|jpeg)$" { return 200 E; }
            location @named { return 200 N; }
        }
        """
        let server = try #require(try ConfigParser(fileSystem: .inMemory([:])).parse(conf, file: "t.conf").first)
        func build(_ nodes: [ConfigNode]) throws -> [LocationDefinition<String>] {
            try nodes.named("location").map { node in
                let body = node.children ?? []
                let payload = body.named("return").first?.arguments.last ?? "?"
                return LocationDefinition(try LocationPattern(directive: node), payload: payload,
                                          nested: try build(body), file: node.file, line: node.line)
            }
        }
        let m = try LocationMatcher(try build(server.children ?? []))
        let got = ["/", "/index.html", "/documents/document.html", "/images/1.gif", "/documents/1.jpg"]
            .map { m.match(uri: $0)?.payload }
        #expect(got == ["A", "B", "C", "D", "E"])
        #expect(m.named("@named") == "N")
    }

    @Test func manyLocationsStayCorrect() throws {
        var defs = (0..<500).map { loc("/p\($0)/", "p\($0)") }
        defs.append(loc("/", "root"))
        let m = try matcher(defs)
        for i in stride(from: 0, to: 500, by: 7) {
            #expect(m.match(uri: "/p\(i)/file")?.payload == "p\(i)")
        }
        #expect(m.match(uri: "/p500/file")?.payload == "root")
        #expect(m.match(uri: "/p1")?.payload == "root")
    }

    @Test func randomDefinitionsNeverTrap() {
        let alphabet = Array("/ab=~*^@()[]\\.$?+{}".unicodeScalars)
        var state: UInt64 = 0xDEADBEEF
        func rand(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        func word() -> String {
            var s = String.UnicodeScalarView()
            for _ in 0..<rand(6) { s.append(alphabet[rand(alphabet.count)]) }
            return String(s)
        }
        for _ in 0..<500 {
            var defs: [LocationDefinition<Int>] = []
            for i in 0..<rand(5) {
                let args = rand(3) == 0 ? [word()] : [word(), word()]
                guard let pattern = try? LocationPattern(arguments: args) else { continue }
                defs.append(LocationDefinition(pattern, payload: i))
            }
            guard let m = try? LocationMatcher(defs) else { continue }
            for _ in 0..<5 { _ = m.match(uri: word()) }
        }
    }
}
