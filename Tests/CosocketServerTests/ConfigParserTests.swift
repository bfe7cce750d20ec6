import Testing
@testable import CosocketServer

private let main = "/etc/nginx/nginx.conf"

private func parse(_ text: String, files: [String: String] = [:]) throws -> [ConfigNode] {
    let parser = ConfigParser(fileSystem: .inMemory(files.merging([main: text]) { a, _ in a }))
    return try parser.parseFile(main)
}

/// The error's full nginx-style text, or nil if parsing succeeded.
private func parseError(_ text: String, files: [String: String] = [:]) -> String? {
    do {
        _ = try parse(text, files: files)
        return nil
    } catch {
        return "\(error)"
    }
}

private func words(_ nodes: [ConfigNode]) -> [[String]] {
    nodes.map { [$0.name] + $0.arguments }
}

@Suite("Config parser: syntax")
struct ConfigSyntaxTests {
    @Test func directivesAndBlocks() throws {
        let nodes = try parse("""
        worker_processes 1;
        events { worker_connections 1024; }
        http {
            server {
                listen 80;
                location / { root html; }
            }
        }
        """)
        #expect(words(nodes) == [["worker_processes", "1"], ["events"], ["http"]])
        #expect(nodes[0].body == .none)
        #expect(nodes[1].children.map(words) == [["worker_connections", "1024"]])
        let server = try #require(nodes[2].children?.first)
        #expect(server.name == "server" && server.line == 4)
        let location = try #require(server.children?.last)
        #expect(location.name == "location" && location.arguments == ["/"] && location.line == 6)
        #expect(location.children.map(words) == [["root", "html"]])
        #expect(location.file == main)
        #expect(nodes.named("http").count == 1)
        #expect(server.children(named: "listen").first?.arguments == ["80"])
    }

    @Test func whitespaceVariants() throws {
        let nodes = try parse("a 1;b\t2 ;\r\nc{d;}e   {\n}\n\n  f;")
        #expect(words(nodes) == [["a", "1"], ["b", "2"], ["c"], ["e"], ["f"]])
        #expect(nodes[2].children.map(words) == [["d"]])
        #expect(nodes[3].children == [])
        #expect(nodes.map(\.line) == [1, 1, 2, 2, 5])
    }

    @Test func emptyInputAndEmptyBlocks() throws {
        #expect(try parse("") == [])
        #expect(try parse("  \n# only a comment\n") == [])
        #expect(try parse("http {}").first?.children == [])
    }

    @Test func comments() throws {
        let nodes = try parse("""
        # leading comment; with { braces }
        a 1; # trailing comment }
        b x#y;   # '#' inside a word is literal
        c "#not a comment";
        d {  # comment after brace
        }
        """)
        #expect(words(nodes) == [["a", "1"], ["b", "x#y"], ["c", "#not a comment"], ["d"]])
    }

    @Test func quotingAndEscapes() throws {
        let nodes = try parse(#"""
        a "two words" 'single quoted' "" '';
        b "q\"q" 'q\'q' "b\\s" "t\tn\nr\r" "keep\x\$";
        c un\"quoted back\\slash a\ b;
        d "mixed 'quotes'" 'and "these"';
        e "semi;colon" "br{ace}s";
        """#)
        #expect(words(nodes) == [
            ["a", "two words", "single quoted", "", ""],
            ["b", "q\"q", "q'q", "b\\s", "t\tn\nr\r", "keep\\x\\$"],
            ["c", "un\"quoted", "back\\slash", "a\\ b"],
            ["d", "mixed 'quotes'", "and \"these\""],
            ["e", "semi;colon", "br{ace}s"],
        ])
    }

    @Test func quotedWordNeedsSeparator() throws {
        #expect(parseError("a \"x\"y;") == "unexpected \"y\" in \(main):1")
        #expect(parseError("a\n'x'\"y\";") == "unexpected \"\"\" in \(main):2")
        // `)` may follow a quote directly, as in `if ($a = "b")`.
        let nodes = try parse("if ($request_method = \"POST\") { return 405; }")
        #expect(words(nodes) == [["if", "($request_method", "=", "POST", ")"]])
        #expect(try parse("a \"x\";b 'y'{}").map(\.name) == ["a", "b"])
    }

    @Test func variables() throws {
        let nodes = try parse("set $a ${b}c;\nreturn 200 \"$a${b}\";\nx ${;\nblk $v{ inner; }")
        #expect(words(nodes) == [["set", "$a", "${b}c"], ["return", "200", "$a${b}"], ["x", "${"], ["blk", "$v"]])
        // Only a `{` directly after `$` is part of the word; `$v{` opens a block.
        #expect(nodes[3].children.map(words) == [["inner"]])
    }

    @Test func closingBraceInsideWordIsLiteral() throws {
        let nodes = try parse("a b}c;\nd e};")
        #expect(words(nodes) == [["a", "b}c"], ["d", "e}"]])
    }

    @Test func multiLineDirectiveReportsTerminatorLine() throws {
        let nodes = try parse("log_format main\n  '$remote_addr'\n  '$status';\n")
        #expect(nodes[0].arguments == ["main", "$remote_addr", "$status"])
        #expect(nodes[0].startLine == 1 && nodes[0].line == 3)
    }

    @Test func parseFromStringUsesGivenFileName() throws {
        let nodes = try ConfigParser(fileSystem: .inMemory([:])).parse("a;\nb;", file: "inline.conf")
        #expect(nodes.map(\.file) == ["inline.conf", "inline.conf"])
        #expect(nodes.map(\.line) == [1, 2])
    }

    @Test func nonASCIIWords() throws {
        let nodes = try parse("add_header X-Name \"café ✓\";")
        #expect(nodes[0].arguments == ["X-Name", "café ✓"])
    }

    @Test func blockDepthLimit() {
        var parser = ConfigParser(fileSystem: .inMemory([:]))
        parser.maxBlockDepth = 3
        #expect(throws: Never.self) { try parser.parse("a { b { c { } } }") }
        #expect(throws: ConfigError(.blockTooDeep(limit: 3), file: "f", line: 1)) {
            try parser.parse("a { b { c { d { } } } }", file: "f")
        }
    }
}

@Suite("Config parser: errors")
struct ConfigErrorTests {
    @Test(arguments: [
        ("http {\n}\n}\n", "unexpected \"}\" in \(main):3"),
        ("a b }", "unexpected \"}\" in \(main):1"),
        ("a;\n;", "unexpected \";\" in \(main):2"),
        ("{ a; }", "unexpected \"{\" in \(main):1"),
        ("worker_processes 1", "unexpected end of file, expecting \";\" or \"}\" in \(main):1"),
        ("worker_processes 1\n", "unexpected end of file, expecting \";\" or \"}\" in \(main):2"),
        ("root \"abc;\n", "unexpected end of file, expecting \";\" or \"}\" in \(main):2"),
        ("a\\", "unexpected end of file, expecting \";\" or \"}\" in \(main):1"),
        ("http {\n  server {\n  }\n", "unexpected end of file, expecting \"}\" in \(main):4"),
        ("x ${ y", "unexpected end of file, expecting \";\" or \"}\" in \(main):1"),
        ("a $y{;\n}", "unexpected \";\" in \(main):1"),
    ])
    func syntaxErrors(input: String, expected: String) {
        #expect(parseError(input) == expected)
    }

    @Test func errorCasesRenderInNginxWords() {
        let cases: [(ConfigError.Kind, String)] = [
            (.unknownDirective("foo"), "unknown directive \"foo\""),
            (.directiveNotAllowedHere("listen"), "\"listen\" directive is not allowed here"),
            (.directiveNotTerminated("include"), "directive \"include\" is not terminated by \";\""),
            (.directiveHasNoOpeningBrace("http"), "directive \"http\" has no opening \"{\""),
            (.invalidArgumentCount("root"), "invalid number of arguments in \"root\" directive"),
            (.directive(name: "keepalive_timeout", message: "invalid value"), "\"keepalive_timeout\" directive invalid value"),
            (.fileOperationFailed(operation: "open()", path: "/x", reason: "13: Permission denied"),
             "open() \"/x\" failed (13: Permission denied)"),
            (.other("free text"), "free text"),
        ]
        for (kind, message) in cases {
            #expect(ConfigError(kind).description == message)
            #expect(ConfigError(kind, file: "/p/nginx.conf", line: 3).description == "\(message) in /p/nginx.conf:3")
        }
    }

    @Test func unknownDirectiveViaNode() throws {
        let node = try #require(try parse("a;\n\nfoo bar;").last)
        #expect(node.error(.unknownDirective(node.name)).description == "unknown directive \"foo\" in \(main):3")
    }

    @Test func missingMainFileHasNoPosition() {
        let parser = ConfigParser(fileSystem: .inMemory([:]))
        #expect(throws: ConfigError(.fileOperationFailed(operation: "open()", path: "/nope.conf",
                                                         reason: "2: No such file or directory"))) {
            try parser.parseFile("/nope.conf")
        }
    }

    @Test func localFileSystemReportsErrno() {
        let parser = ConfigParser()  // real file system
        do {
            _ = try parser.parseFile("/nonexistent-cosocket-dir/nginx.conf")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "open() \"/nonexistent-cosocket-dir/nginx.conf\" failed (2: No such file or directory)")
        }
    }
}

@Suite("Config parser: include")
struct ConfigIncludeTests {
    @Test func relativeIncludeResolvesAgainstMainFileDirectory() throws {
        let nodes = try parse("""
        include mime.types;
        http {
            include conf.d/site.conf;
        }
        """, files: [
            "/etc/nginx/mime.types": "types {\n  text/html html;\n}\n",
            "/etc/nginx/conf.d/site.conf": "server { include snippets/common.conf; }",
            // Relative to the conf prefix (/etc/nginx/), not to conf.d/.
            "/etc/nginx/snippets/common.conf": "listen 8080;",
        ])
        #expect(nodes.map(\.name) == ["types", "http"])
        #expect(nodes[0].file == "/etc/nginx/mime.types" && nodes[0].line == 1)
        #expect(nodes[0].children?.first?.line == 2)
        let server = try #require(nodes[1].children?.first)
        #expect(server.file == "/etc/nginx/conf.d/site.conf")
        #expect(server.children?.first?.arguments == ["8080"])
        #expect(server.children?.first?.file == "/etc/nginx/snippets/common.conf")
    }

    /// As `nginx -p /prefix -c /srv/main.conf` does (checked against the reference): relative
    /// includes start at the main file's directory, whatever `-p` says; text without a file
    /// (`-g`) resolves against the prefix.
    @Test func absoluteIncludeAndTheMainFilesDirectory() throws {
        let fs = ConfigFileSystem.inMemory([
            "/srv/main.conf": "include /opt/abs.conf; include rel.conf;",
            "/opt/abs.conf": "a;",
            "/srv/rel.conf": "b;",
            "/prefix/rel.conf": "c;",
        ])
        let parser = ConfigParser(fileSystem: fs, prefix: "/prefix")
        #expect(try parser.parseFile("/srv/main.conf").map(\.name) == ["a", "b"])
        #expect(try parser.parse("include rel.conf;", file: "command line").map(\.name) == ["c"])
    }

    @Test func globIncludeIsSortedAndSkipsHiddenFiles() throws {
        let nodes = try parse("http { include conf.d/*.conf; }", files: [
            "/etc/nginx/conf.d/b.conf": "b;",
            "/etc/nginx/conf.d/a.conf": "a;",
            "/etc/nginx/conf.d/C.conf": "C;",
            "/etc/nginx/conf.d/.hidden.conf": "hidden;",
            "/etc/nginx/conf.d/notes.txt": "txt;",
            "/etc/nginx/conf.d/sub/deep.conf": "deep;",
        ])
        #expect(nodes[0].children?.map(\.name) == ["C", "a", "b"])
    }

    @Test(arguments: [
        ("conf.d/?.conf", ["a", "b"]),
        ("conf.d/[ab].conf", ["a", "b"]),
        ("conf.d/[!a].conf", ["b"]),
        ("conf.d/[a-b].conf", ["a", "b"]),
        ("conf.d/x*", ["xy"]),
        ("conf.d/*y.conf", ["xy"]),
        ("*/a.conf", ["a"]),
        ("conf.d/.*", ["hidden"]),
        ("conf.d/nomatch*", []),
        ("missing-dir/*.conf", []),
    ])
    func globPatterns(pattern: String, expected: [String]) throws {
        let nodes = try parse("include \(pattern);", files: [
            "/etc/nginx/conf.d/a.conf": "a;",
            "/etc/nginx/conf.d/b.conf": "b;",
            "/etc/nginx/conf.d/xy.conf": "xy;",
            "/etc/nginx/conf.d/.hidden": "hidden;",
        ])
        #expect(nodes.map(\.name) == expected)
    }

    @Test func globMatcher() {
        func m(_ p: String, _ s: String) -> Bool {
            ConfigGlob.matches(Array(p.unicodeScalars), Array(s.unicodeScalars))
        }
        #expect(m("*", "abc") && m("a*c", "abbbc") && m("a*b*c", "axbxc") && !m("a*c", "abd"))
        #expect(m("a?c", "abc") && !m("a?c", "ac"))
        #expect(m("[]x]", "]") && m("[a-]", "-") && !m("[^a]", "a") && m("[^a]", "b"))
        #expect(m("a[", "a[") && m("\\*", "*") && !m("\\*", "x"))
        #expect(!m("*", ".x") && !m("?x", ".x") && m(".*", ".x") && m("\\.x", ".x"))
        #expect(m("**", "") && !m("?", ""))
    }

    @Test func includeErrors() {
        #expect(parseError("a;\n\ninclude missing.conf;") ==
                "open() \"/etc/nginx/missing.conf\" failed (2: No such file or directory) in \(main):3")
        #expect(parseError("include a.conf {") == "directive \"include\" is not terminated by \";\" in \(main):1")
        #expect(parseError("include;") == "invalid number of arguments in \"include\" directive in \(main):1")
        #expect(parseError("include a b;") == "invalid number of arguments in \"include\" directive in \(main):1")
    }

    @Test func errorsInsideIncludedFilesPointThere() {
        let sub = "/etc/nginx/sub.conf"
        // An included file cannot close the includer's block.
        #expect(parseError("http {\ninclude sub.conf;\n}", files: [sub: "a;\n}\n"]) == "unexpected \"}\" in \(sub):2")
        #expect(parseError("http {\ninclude sub.conf;\n}", files: [sub: "server {\n"]) ==
                "unexpected end of file, expecting \"}\" in \(sub):2")
        #expect(parseError("include sub.conf;", files: [sub: "a b"]) ==
                "unexpected end of file, expecting \";\" or \"}\" in \(sub):1")
    }

    @Test func includeCycleIsCaught() {
        var parser = ConfigParser(fileSystem: .inMemory([main: "include loop.conf;", "/etc/nginx/loop.conf": "include loop.conf;"]))
        parser.maxIncludeDepth = 5
        #expect(throws: ConfigError(.includeTooDeep(path: "/etc/nginx/loop.conf", limit: 5),
                                    file: "/etc/nginx/loop.conf", line: 1)) {
            try parser.parseFile(main)
        }
    }

    @Test func readErrorsOtherThanConfigFileError() {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let fs = ConfigFileSystem(readFile: { _ in throw Boom() }, listDirectory: { _ in nil })
        #expect(throws: ConfigError(.fileOperationFailed(operation: "open()", path: "/x", reason: "boom"))) {
            try ConfigParser(fileSystem: fs).parseFile("/x")
        }
    }
}

@Suite("Config parser: *_by_lua_block")
struct ConfigLuaBlockTests {
    /// Parses `<directive> {<body>}` and returns the raw Lua text.
    private func lua(_ body: String, directive: String = "content_by_lua_block") throws -> String {
        let nodes = try parse("\(directive) {\(body)}\nafter;")
        #expect(nodes.map(\.name) == [directive, "after"])
        return try #require(nodes.first?.luaBlock).text
    }

    @Test func keepsExactBytesBetweenBraces() throws {
        #expect(try lua(" ngx.say(\"hi\") ") == " ngx.say(\"hi\") ")
        #expect(try lua("") == "")
        #expect(try lua("\n  local a = 1; # not an nginx comment\n  ngx.say(a)\n") ==
                "\n  local a = 1; # not an nginx comment\n  ngx.say(a)\n")
    }

    @Test(arguments: [
        "ngx.say(\"}\")",
        "ngx.say('}')",
        "ngx.say(\"a\\\"}\\\"b\")",
        "ngx.say('it\\'s }')",
        "ngx.say(\"it's }\")",
        "ngx.say('say \"}\"')",
        "local s = [[ } ]]",
        "local s = [[\n}\n}]]",
        "local s = [==[ ]] } ]=] ]==]",
        "local s = [=[ \" ]=]",
        "-- } in a line comment\nlocal x = 1",
        "--[[ } in a long comment ]]",
        "--[==[ } ]] } ]==]",
        "--[==[\n}\n]==] local t = {}",
        "local t = { a = { 1 } }",
        "local t = {{}, {{}}, \"}\"}",
        "local s = \"--\" .. '[[' -- ]] \"",
        "x = a[b[1]] -- index, not a long string",
        "ngx.say(\"\\\\\") -- escaped backslash before the quote",
        "local s = '日本語 }'",
    ])
    func bracesInsideLuaTokensDoNotCloseTheBlock(body: String) throws {
        // The closing brace goes on its own line: after a `--` comment a `}` on
        // the same line would be commented out (as in ngx_lua).
        #expect(try lua(body + "\n") == body + "\n")
    }

    @Test func closingBraceAfterLineCommentIsCommentedOut() {
        #expect(parseError("content_by_lua_block { -- done }") ==
                "unexpected end of file, expecting terminating characters for lua code block in \(main):1")
    }

    @Test func unterminatedStringQuoteIsAnOrdinaryCharacter() throws {
        // ngx_lua's lexer: a quote without a closing quote on the same line is
        // not a string token, so the brace after it still counts.
        #expect(try lua("local s = \"abc\n") == "local s = \"abc\n")
        #expect(try lua("local s = 'a\\\n") == "local s = 'a\\\n")
    }

    @Test func lineNumbersOfLuaAndFollowingDirectives() throws {
        let nodes = try parse("""
        http {
            init_by_lua_block {
                require "resty.core"
                local s = "}" -- }
            }
            server {
                location /t {
                    content_by_lua_block { ngx.say([[
                    }]]) }
                    log_by_lua_block{ngx.log(ngx.ERR, "x")}
                }
                listen 80;
            }
        }
        """)
        let http = try #require(nodes.first?.children)
        let initBlock = try #require(http.first?.luaBlock)
        #expect(initBlock.line == 2 && http[0].line == 2)
        #expect(initBlock.text == "\n        require \"resty.core\"\n        local s = \"}\" -- }\n    ")
        let server = try #require(http.last?.children)
        let location = try #require(server.first?.children)
        #expect(location.map(\.name) == ["content_by_lua_block", "log_by_lua_block"])
        #expect(location[0].luaBlock?.line == 8)
        #expect(location[0].luaBlock?.text == " ngx.say([[\n            }]]) ")
        #expect(location[1].line == 10 && location[1].luaBlock?.text == "ngx.log(ngx.ERR, \"x\")")
        #expect(server.last?.name == "listen" && server.last?.line == 12)
    }

    @Test func anyDirectiveEndingInByLuaBlock() throws {
        let nodes = try parse("""
        set_by_lua_block $res { return 1 + 1 }
        ssl_certificate_by_lua_block { local x = "}" }
        balancer_by_lua_block { }
        init_worker_by_lua_block { }
        header_filter_by_lua_block { }
        body_filter_by_lua_block { }
        access_by_lua_block { }
        rewrite_by_lua_block { }
        """)
        #expect(nodes[0].arguments == ["$res"] && nodes[0].luaBlock?.text == " return 1 + 1 ")
        #expect(nodes.allSatisfy { $0.luaBlock != nil })
        #expect(nodes.count == 8)
        // Not a Lua block: parsed as nginx syntax.
        let plain = try parse("content_by_lua_file { a; }")
        #expect(plain.first?.children?.first?.name == "a")
    }

    @Test func luaSourceIsByteExact() throws {
        let body: [UInt8] = Array(" local s = \"".utf8) + [0xFF, 0xFE] + Array("\" ".utf8)
        let bytes = Array("content_by_lua_block {".utf8) + body + Array("}".utf8)
        let nodes = try ConfigParser(fileSystem: .inMemory([:])).parse(bytes: bytes, file: "b.conf")
        #expect(nodes.first?.luaBlock?.source == body)
    }

    @Test func luaBlockErrors() {
        #expect(parseError("content_by_lua_block;") ==
                "directive \"content_by_lua_block\" has no opening \"{\" in \(main):1")
        // EOF: reported at the line of the last `{` seen (ngx_lua's ctx.start_line).
        #expect(parseError("a;\ncontent_by_lua_block {\n  local t = {\n  ngx.say(1)\n") ==
                "unexpected end of file, expecting terminating characters for lua code block in \(main):3")
        #expect(parseError("content_by_lua_block {\n  ngx.say('x')\n") ==
                "unexpected end of file, expecting terminating characters for lua code block in \(main):1")
        #expect(parseError("content_by_lua_block {\n\n  local s = [==[ } ]=]\n}\n") ==
                "Lua code block missing the closing long bracket \"]==]\", the inlined Lua code may be too long in \(main):3")
        #expect(parseError("content_by_lua_block {\n --[[ }\n") ==
                "Lua code block missing the closing long bracket \"]]\", the inlined Lua code may be too long in \(main):2")
        // A `}` too many after the block is an nginx-level error again.
        #expect(parseError("content_by_lua_block { }\n}") == "unexpected \"}\" in \(main):2")
    }
}

@Suite("Config parser: robustness")
struct ConfigRobustnessTests {
    /// Deterministic xorshift generator so failures are reproducible.
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test func randomInputOnlyEverThrowsConfigErrors() {
        let alphabet = Array("{}{};;\"'\\#$-[]=\n ab()~*\r\t".utf8) + [0xC3, 0xA9, 0xFF]
        let prefixes = ["", "content_by_lua_block {", "http { server { location / {", "set_by_lua_block $x {",
                        "include *.conf;", "a \"", "a '"]
        var rng = Rng(state: 0x9E37_79B9_7F4A_7C15)
        let parser = ConfigParser(fileSystem: .inMemory(["/x.conf": "a;", "/y.conf": "}"]), prefix: "/")
        var parsed = 0
        for round in 0..<3000 {
            let length = Int.random(in: 0...60, using: &rng)
            let body = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            let input = Array(prefixes[round % prefixes.count].utf8) + body
            if (try? parser.parse(bytes: input, file: "/fuzz.conf")) != nil { parsed += 1 }
        }
        #expect(parsed > 0)  // and, above all, no trap
    }

    @Test func randomGlobPatternsNeverTrap() {
        let alphabet = Array("*?[]!^-\\.ab".unicodeScalars)
        var rng = Rng(state: 7)
        func random(_ n: Int) -> [Unicode.Scalar] {
            (0..<Int.random(in: 0...n, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
        }
        for _ in 0..<5000 { _ = ConfigGlob.matches(random(8), random(6)) }
    }

    @Test func randomUnitsNeverTrap() {
        let alphabet = Array("0123456789 smhdwMyKkGg.-")
        var rng = Rng(state: 42)
        for _ in 0..<3000 {
            let text = String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
            _ = try? ConfigUnits.seconds(text)
            _ = try? ConfigUnits.milliseconds(text)
            _ = try? ConfigUnits.milliseconds(text, bareNumber: .milliseconds)
            _ = try? ConfigUnits.size(text)
        }
    }
}
