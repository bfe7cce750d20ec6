import CosocketTestSupport
import Foundation
import Testing

/// `proxy_pass` as nginx's proxy module answers (each answer checked with ref-nginx on the same
/// configuration): the URI replaced or kept, `$proxy_host`, HTTP/1.0 and `Connection: close`
/// upstream, `proxy_set_header` with variables, `upstream` blocks with a dead first server,
/// a request body, a subrequest to a proxied location, and 502 for a refused port.
@Suite struct ProxyPassTests {
    @Test func requestsGoUpstreamAndAnswersComeBack() throws {
        let refused = RefusingPort()
        let server = try TestServer(server: """
            location /foo { default_type text/html; content_by_lua_block {
                ngx.header["X-Up"] = "yes"
                ngx.say(ngx.req.get_method(), " ", ngx.var.request_uri, " ", ngx.req.http_version(), " host=", ngx.var.http_host,
                        " xa=", ngx.var.http_x_a or "-", " conn=", ngx.var.http_connection or "-")
                ngx.req.read_body()
                ngx.say("body=", ngx.req.get_body_data() or "-")
            } }
            location /p1 { proxy_pass http://127.0.0.1:@PORT@/foo; }
            location /p3 { proxy_set_header X-A "v$arg_a"; proxy_http_version 1.1; proxy_pass http://backend/foo/; }
            location /p4 { proxy_pass http://127.0.0.1:\(refused.port)/; }
            location /p5 { set $u http://127.0.0.1:@PORT@/foo/bar; proxy_pass $u; }
            location /cap { content_by_lua_block { local r = ngx.location.capture("/p1/x") ngx.say(r.status, " ", r.body) } }
            """, http: "upstream backend { server 127.0.0.1:\(refused.port); server 127.0.0.1:@PORT@; }")
        let first = server.get("/p1/a?x=1")
        #expect(first.status == 200)
        #expect(first.header("Content-Type") == "text/html")
        #expect(first.header("X-Up") == "yes")
        #expect(first.body == "GET /foo/a?x=1 1 host=127.0.0.1:\(server.port) xa=- conn=close\nbody=-\n")
        // The dead first server is skipped; the second answers (its Host is the upstream's name).
        #expect(server.get("/p3/zz?a=7").body == "GET /foo//zz?a=7 1.1 host=backend xa=v7 conn=close\nbody=-\n")
        #expect(server.get("/p4").status == 502)
        #expect(server.log.waitFor("connect() failed (111: Connection refused)"))
        #expect(server.get("/p5").body == "GET /foo/bar 1 host=127.0.0.1:\(server.port) xa=- conn=close\nbody=-\n")
        #expect(server.get("/cap").body == "200 GET /foo/x 1 host=127.0.0.1:\(server.port) xa=- conn=close\nbody=-\n\n")
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /p1/post HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello body")
        #expect(client.readResponse()?.body == "POST /foo/post 1 host=127.0.0.1:\(server.port) xa=- conn=close\nbody=hello body\n")
    }

    /// An upstream that closes before the body it announced: the subrequest's result has what
    /// came, status 200 and `truncated`, and the error log nginx's words (t/020-subrequest.t 46).
    @Test func aBodyCutShortIsTruncated() throws {
        let upstream = TestListener { fd in
            while let line = Peer.receiveLine(fd), line != "" && line != "\r" {}
            Peer.send(fd, "HTTP/1.0 200 OK\r\nContent-Length: 1024\r\n\r\nhello world")
        }
        defer { upstream.stop() }
        let server = try TestServer(server: """
            location /proxy { internal; proxy_pass http://127.0.0.1:\(upstream.port); }
            location /main { content_by_lua_block {
                local res = ngx.location.capture("/proxy")
                ngx.say(res.status, " ", res.body, " ", res.truncated)
            } }
            """)
        #expect(server.get("/main").body == "200 hello world true\n")
        #expect(server.log.waitFor("upstream prematurely closed connection while reading upstream"))
    }

    /// The headers sent upstream are the request's as Lua left them (t/028-req-header.t 14, 25).
    @Test func editedRequestHeadersGoUpstream() throws {
        let server = try TestServer(server: """
            location = /t {
                rewrite_by_lua_block { ngx.req.clear_header("Foo") ngx.req.set_header("Bar", {"a", "abc"}) }
                proxy_pass http://127.0.0.1:@PORT@/echo;
            }
            location = /echo { content_by_lua_block {
                local bar = ngx.req.get_headers()["bar"]
                ngx.say("Foo: [", ngx.var.http_foo or "", "] Bar: ", type(bar) == "table" and table.concat(bar, ",") or tostring(bar),
                        " Test-Header: [", ngx.var.http_test_header, "] type: ", ngx.var.content_type)
            } }
            """)
        let response = server.get("/t", headers: ["Foo: foo", "Foo: bah", "Test-Header: 1", "Content-Type: text/css"])
        #expect(response.body == "Foo: [] Bar: a,abc Test-Header: [1] type: text/css\n")
    }
}
