import CosocketTestSupport
import Foundation
import Testing

/// Argument limits, unsafe redirects and a proxied rewritten URI as the reference answers
/// them (t/030-uri-args.t, t/031-post-args.t, t/022-redirect.t; checked with ref-nginx).
@Suite struct ArgsAndRedirectConformanceTests {
    @Test func argumentLimitsSayTruncated() throws {
        let server = try TestServer(server: """
            location /uri { content_by_lua_block { local a, e = ngx.req.get_uri_args(2) ngx.say(e, " ", a.c) } }
            location /post { content_by_lua_block { ngx.req.read_body() local a, e = ngx.req.get_post_args(2) ngx.say(e, " ", a.baz) } }
            location /decode { content_by_lua_block {
                local _, e1 = ngx.decode_args("a=1&b=2", 2) local _, e2 = ngx.decode_args("a=1&b=2&c", 2)
                ngx.say(e1, " ", e2)
            } }
            """, http: "error_log logs/error.log debug;")
        #expect(server.get("/uri?a=1&b=2&c=3").body == "truncated nil\n")
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /post HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\nConnection: close\r\n\r\nfoo=3&bar=4&baz=2")
        #expect(client.readResponse()?.body == "truncated nil\n")
        #expect(server.get("/decode").body == "nil truncated\n")
    }

    @Test func aRedirectWithControlBytesIsRefused() throws {
        let server = try TestServer(server: """
            location = /t { content_by_lua_block { ngx.redirect("http://a.test/foo\\rfoo:bar\\nbar:foo") } }
            location = /tab { content_by_lua_block { ngx.redirect("/a\\tb") } }
            """)
        #expect(server.get("/t").status == 500)
        #expect(server.log.waitFor("unsafe byte \"0x0d\" in redirect uri \"http://a.test/foo\\x0Dfoo:bar\\x0Abar:foo\""))
        #expect(server.get("/tab").status == 302)
    }

    /// `ngx.req.set_uri` before `proxy_pass` sends the changed URI (it looped to itself).
    @Test func proxyPassSendsTheRewrittenURI() throws {
        let server = try TestServer(server: """
            location /foo { rewrite_by_lua_block { ngx.req.set_uri("/bar") } proxy_pass http://127.0.0.1:@PORT@; }
            location /bar { content_by_lua_block { ngx.say("bar ", ngx.var.request_uri) } }
            """)
        #expect(server.get("/foo?a=1").body == "bar /bar?a=1\n")
    }
}
