import CosocketTestSupport
import Foundation
import Testing

/// `*_by_lua_file` paths as the reference reads them (each answer checked with ref-nginx): a
/// path may name variables, and a file missing at start fails the request that runs it (404
/// in the rewrite, access and content phases, 500 in `set_by_lua_file`; logged, with the
/// response unchanged, in `log_by_lua_file`), in nginx's words.
@Suite struct HandlerFileTests {
    @Test func filesAreReadWhenARequestRunsThem() throws {
        let server = try TestServer(server: """
            location /missing { content_by_lua_file html/missing.lua; }
            location /var { content_by_lua_file html/$arg_f.lua; }
            location /rw { rewrite_by_lua_file html/nope.lua; content_by_lua_block { ngx.say("c") } }
            location /ac { access_by_lua_file html/nope.lua; content_by_lua_block { ngx.say("c") } }
            location /set { set_by_lua_file $x html/nope.lua; return 200 "[$x]"; }
            location /log { log_by_lua_file html/nope.lua; content_by_lua_block { ngx.say("c") } }
            location /inline { content_by_lua_block { ngx.say( } }
            """, files: [
                "html/a.lua": "ngx.say(\"from \", ngx.var.arg_f)",
                "html/bad.lua": "ngx.say(",
            ])
        #expect(server.get("/missing").status == 404)
        #expect(server.log.waitFor("failed to load external Lua file \"\(server.prefix)/html/missing.lua\": cannot open \(server.prefix)/html/missing.lua: No such file or directory, client: 127.0.0.1"))
        #expect(server.get("/var?f=a").body == "from a\n")
        #expect(server.get("/var?f=bad").status == 500)
        #expect(server.log.waitFor("failed to load external Lua file \"\(server.prefix)/html/bad.lua\": "))
        #expect(server.log.contains("bad.lua:1: unexpected symbol near '<eof>'"))
        #expect(server.get("/var?f=nope").status == 404)
        #expect(server.get("/rw").status == 404)
        #expect(server.get("/ac").status == 404)
        #expect(server.get("/set").status == 500)
        #expect(server.get("/log").body == "c\n")
        #expect(server.log.waitFor("nope.lua: No such file or directory while logging request, client: 127.0.0.1"))
        #expect(server.get("/inline").status == 500)
        #expect(server.log.waitFor("failed to load inlined Lua code: content_by_lua(nginx.conf:"))
    }

    /// A path that starts with a variable is made absolute after the expansion.
    @Test func aVariablePathIsExpandedBeforeThePrefix() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        writeFile(directory + "/a.lua", "ngx.say(\"absolute\")")
        let server = try TestServer(server: """
            location /abs { set $p \(directory)/a.lua; content_by_lua_file $p; }
            location /rel { set $p html/b.lua; content_by_lua_file $p; }
            """, files: ["html/b.lua": "ngx.say(\"relative\")"])
        #expect(server.get("/abs").body == "absolute\n")
        #expect(server.get("/rel").body == "relative\n")
    }
}
