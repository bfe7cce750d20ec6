import CosocketLua
import CosocketTestSupport
import Foundation
import Testing

/// `ngx.exit`, `ngx.headers_sent`, HEAD output and `ngx.log`'s arguments as the reference
/// answers them (lua-nginx-module's t/005-exit.t, t/002-content.t and t/009-log.t; each
/// answer below was checked with ref-nginx).
@Suite struct ExitConformanceTests {
    static let server = """
        location = /hf403 { content_by_lua "ngx.say('hi')"; header_filter_by_lua 'return ngx.exit(403)'; }
        location = /hf201 { content_by_lua "ngx.say('hi')"; header_filter_by_lua 'return ngx.exit(201)'; }
        location = /hf0 { content_by_lua "ngx.say('hi')"; header_filter_by_lua 'ngx.header.X = 1 return ngx.exit(0)'; }
        location = /after444 { content_by_lua "ngx.say('ok') return ngx.exit(444)"; }
        location = /after408 { content_by_lua "ngx.say('ok') return ngx.exit(408)"; }
        location = /after500 { content_by_lua "ngx.say('ok') return ngx.exit(500)"; }
        location = /error { content_by_lua "ngx.exit(ngx.ERROR)"; }
        location = /declined { content_by_lua "ngx.say('x') ngx.exit(ngx.DECLINED)"; }
        location = /again { content_by_lua "ngx.exit(ngx.AGAIN)"; }
        location = /return444 { return 444; }
        location = /done { content_by_lua "ngx.exit(ngx.DONE)"; }
        location = /sent { content_by_lua_block {
            ngx.say(ngx.headers_sent) ngx.say(ngx.headers_sent)
            ngx.header["X-A"] = 1
        } }
        location = /head { content_by_lua_block {
            ngx.say("a")
            local ok, err = ngx.flush() ngx.log(ngx.ERR, "flush: ", ok, " ", err)
            ok, err = ngx.say("b") ngx.log(ngx.ERR, "say: ", ok, " ", err)
        } }
        location = /log { content_by_lua_block {
            ngx.log(ngx.ERR, setmetatable({}, { __tostring = function() return "TS" end }), " and ", 1)
            ngx.say(select(2, pcall(ngx.log, ngx.ERR, {})))
            ngx.say(select(2, pcall(ngx.log, ngx.ERR, "a", function() end)))
        } }
        """

    @Test func exitInTheHeaderFilterReplacesTheResponse() throws {
        let server = try TestServer(server: Self.server)
        let forbidden = server.get("/hf403")
        #expect(forbidden.status == 403)
        #expect(forbidden.body.contains("<title>403 Forbidden</title>"))
        let created = server.get("/hf201")
        #expect(created.status == 201)
        #expect(created.body == "")
        #expect(created.header("Content-Type") == nil)
        let kept = server.get("/hf0")
        #expect(kept.body == "hi\n")
        #expect(kept.header("X") == "1")
        #expect(!server.log.contains("attempt to set status"))
    }

    @Test func exitCodesThatEndTheConnection() throws {
        let server = try TestServer(server: Self.server)
        for path in ["/after444", "/after408", "/error", "/declined", "/return444"] {
            #expect(server.exchange("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n") == "", "\(path)")
        }
        #expect(!server.log.contains("attempt to set status"))
        // 500 after output: the head is out, so the response stands, and the attempt is logged.
        #expect(server.get("/after500").body == "ok\n")
        #expect(server.log.waitFor("[error] *", "attempt to set status 500 via ngx.exit after sending out the response status 200, client: 127.0.0.1"))
        for path in ["/again", "/done"] { #expect(server.get(path).status == 500) }
        #expect(server.log.count(of: "bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE") == 2)
    }

    @Test func outputCountsAsSentHeaders() throws {
        let server = try TestServer(server: Self.server)
        let response = server.get("/sent")
        #expect(response.body == "false\ntrue\n")
        #expect(response.header("X-A") == nil)
        #expect(server.log.waitFor("attempt to set ngx.header.HEADER after sending out response headers"))
        _ = server.exchange("HEAD /head HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(server.log.waitFor("flush: nil header only"))
        #expect(server.log.waitFor("say: nil header only"))
    }

    @Test func logTakesTablesWithToString() throws {
        let server = try TestServer(server: Self.server)
        #expect(server.get("/log").body == """
            bad argument #1 to '?' (expected table to have __tostring metamethod)
            bad argument #2 to '?' (string, number, boolean, or nil expected, got function)

            """)
        #expect(server.log.contains("TS and 1"))
    }

    /// nginx prints `ngx.STDERR` lines with an empty level: `[]`.
    @Test func stderrLinesHaveAnEmptyLevel() throws {
        let path = makeTemporaryDirectory() + "/error.log"
        let log = ErrorLogFile(path: path, level: .debug)
        log.log(.stderr, "to stderr")
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        #expect(text.contains(" [] "))
        #expect(text.hasSuffix(": to stderr\n"))
    }
}
