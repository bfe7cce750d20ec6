import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `ngx.req.set_header`, `clear_header`, `set_method`, `set_uri` (and its jump),
/// `set_uri_args`, `start_time`, `is_internal` and `ngx.resp.get_headers`.
@Suite struct RequestRewriteTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Every call of `Fixtures/req_rewrite.lua` answers what the reference answered
    /// (`ref-run -f`, kept in `req_rewrite.expected`): escapes, replacements, errors.
    @Test func callsAnswerAsTheReference() throws {
        let script = Self.fixtures.appendingPathComponent("req_rewrite.lua").path
        let expected = try String(contentsOfFile: Self.fixtures.appendingPathComponent("req_rewrite.expected").path, encoding: .utf8)
        let server = try TestServer(server: "location / { content_by_lua_file \(script); }")
        let response = server.get("/")
        #expect(response.status == 200)
        #expect(response.body == expected)
    }

    static let phases = #"""
        location /a {
          rewrite_by_lua_block {
            ngx.req.set_header("X-Seen", "rewrite")
            ngx.req.set_method(ngx.HTTP_POST)
            if ngx.var.arg_to then ngx.req.set_uri(ngx.var.arg_to, true) ngx.say("not reached") end
            ngx.req.set_uri("/a/changed")
          }
          access_by_lua_block { ngx.ctx.access = ngx.var.uri }
          content_by_lua_block {
            ngx.say("a ", ngx.req.get_method(), " ", ngx.var.request_method, " ", ngx.var.http_x_seen, " ", ngx.ctx.access, " ", ngx.var.uri, " ", tostring(ngx.req.is_internal()))
          }
        }
        location /b {
          set $from_b "set-in-b";
          content_by_lua_block {
            ngx.say("b ", ngx.req.get_method(), " ", ngx.var.http_x_seen, " ", ngx.var.uri, " ", ngx.var.request_uri, " ", ngx.var.from_b, " ", tostring(ngx.req.is_internal()))
          }
        }
        location /loop {
          rewrite_by_lua_block { ngx.req.set_uri("/loop", true) }
          content_by_lua_block { ngx.say("never") }
        }
        location /ret { return 418; }
        location /exit { content_by_lua_block { ngx.req.set_uri("/b", true) } }
        """#

    /// What the rewrite phase changed is what later phases and variables see; a jump takes
    /// the new URI's location (its `set` runs), a cycle ends in a 500, a jump nowhere in a 404.
    @Test func laterPhasesSeeTheChanges() throws {
        let server = try TestServer(server: Self.phases)
        #expect(server.get("/a").body == "a POST POST rewrite /a/changed /a/changed false\n")
        #expect(server.get("/a?to=/b").body == "b POST rewrite /b /a?to=/b set-in-b true\n")
        #expect(server.get("/a?to=/ret").status == 418)
        #expect(server.get("/a?to=/nowhere").status == 404)
        #expect(server.get("/loop").status == 500)
        #expect(server.log.contains("rewrite or internal redirection cycle while processing \"/loop\""))
        let exit = server.get("/exit")
        #expect(exit.status == 500)
        #expect(server.log.contains("API disabled in the context of content_by_lua*"))
    }

    /// A header set from a peer's bytes cannot split the head it is read into.
    @Test func headerInjectionIsEscaped() throws {
        let server = try TestServer(server: #"""
            location / {
              content_by_lua_block {
                ngx.req.set_header("X-In", ngx.var.arg_v)
                ngx.say(ngx.var.http_x_in)
                ngx.say(ngx.req.get_headers()["x-in"])
              }
            }
            """#)
        #expect(server.get("/?v=a%0D%0AX-Evil:%201").body == "a%0D%0AX-Evil: 1\na%0D%0AX-Evil: 1\n")
    }
}
