import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `ngx.exec`'s internal redirect, as `ref-nginx` answered the same locations: the cycle
/// limit, named locations, the server's script running again, what survives the jump (the
/// response headers and status) and what does not (`ngx.ctx`, light threads, the code after
/// the call). `SubrequestTests`' corpus covers its arguments and errors.
@Suite struct ExecTests {
    static let locations = #"""
        if ($uri = /forbidden) { return 403; }
        location /loop { content_by_lua_block { ngx.log(ngx.ERR, "loop ", ngx.var.arg_n); ngx.exec("/loop", "n=" .. (tonumber(ngx.var.arg_n) + 1)) } }
        location /late { content_by_lua_block { ngx.say("x"); ngx.exec("/plain") } }
        location /plain { content_by_lua_block { ngx.say("plain ", ngx.var.uri, " ", tostring(ngx.var.args), " ", tostring(ngx.ctx.kept)) } }
        location /noname { content_by_lua_block { ngx.exec("@missing") } }
        location /toforbidden { content_by_lua_block { ngx.exec("/forbidden") } }
        location /keepctx { rewrite_by_lua_block { ngx.ctx.kept = "yes"; ngx.req.set_uri("/plain", true) } }
        location /dropctx { content_by_lua_block { ngx.ctx.kept = "yes"; ngx.exec("/plain") } }
        location /hdr { content_by_lua_block { ngx.header["X-Before"] = "b"; ngx.status = 201; ngx.exec("/plain") } }
        location /thread { content_by_lua_block {
            ngx.thread.spawn(function() ngx.sleep(0.05) ngx.log(ngx.ERR, "thread survived") end)
            ngx.exec("/plain")
        } }
        location /sub { content_by_lua_block { ngx.exec("/plain", { from = "sub" }) } }
        location /cap { content_by_lua_block { local r = ngx.location.capture("/sub") ngx.print(r.status, " ", r.body) } }
        """#

    /// Ten redirects pass, the eleventh is nginx's cycle error and a 500.
    @Test func cycleStopsAfterTenRedirects() throws {
        let server = try TestServer(server: Self.locations)
        #expect(server.get("/loop?n=0").status == 500)
        #expect(server.log.count(of: "loop ") == 11)
        #expect(server.log.contains("rewrite or internal redirection cycle while internally redirecting to \"/loop\""))
    }

    @Test func targetsAndWhatSurvives() throws {
        let server = try TestServer(server: Self.locations)
        #expect(server.get("/noname").status == 500)
        #expect(server.log.contains("could not find named location \"@missing\""))
        // The server's `if ... return` runs again for the new URI.
        #expect(server.get("/toforbidden").status == 403)
        #expect(server.get("/keepctx").body == "plain /plain nil nil\n")
        #expect(server.get("/dropctx").body == "plain /plain nil nil\n")
        let headers = server.get("/hdr")
        #expect(headers.status == 201)
        #expect(headers.header("X-Before") == "b")
        #expect(headers.body == "plain /plain nil nil\n")
        #expect(server.get("/thread").body == "plain /plain nil nil\n")
        Thread.sleep(forTimeInterval: 0.15)
        #expect(!server.log.contains("thread survived"))
        // Inside a subrequest, the subrequest moves.
        #expect(server.get("/cap").body == "200 plain /plain from=sub nil\n")
    }

    /// After output, nginx has sent the head: the call is an error (our output waits in
    /// memory, but the rule is the reference's).
    @Test func afterOutputIsAnError() throws {
        let server = try TestServer(server: Self.locations)
        _ = server.get("/late")
        #expect(server.log.contains("attempt to call ngx.exec after sending out response headers"))
    }
}
