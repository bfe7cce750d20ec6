import CosocketTestSupport
import Foundation
import Testing

/// Response headers set from Lua as the reference treats them (t/016-resp-header.t; each
/// answer checked with ref-nginx): the default type once output went out, `$sent_http_*`,
/// a handler's Content-Length, an invalid one refused, and the not-modified filter.
@Suite struct ResponseHeaderConformanceTests {
    static let server = """
        location /ct { default_type "text/my-plain"; content_by_lua 'ngx.print("hello, ") ngx.say(ngx.header.content_type)'; }
        location /cc { content_by_lua 'ngx.header.cache_control = { "private", "no-store" } ngx.header.x_y = {"1", "2"} ngx.say(ngx.var.sent_http_cache_control, "|", ngx.var.sent_http_x_y, "|", ngx.var.sent_http_content_type)'; }
        location /cl { content_by_lua 'ngx.header.content_length = 3 ngx.say("Hello")'; }
        location /clbad { content_by_lua 'ngx.header.content_length = "text/my-plain" ngx.say("Hi")'; }
        location /lm { content_by_lua 'ngx.header["Last-Modified"] = ngx.http_time(1290079655) ngx.say(ngx.header["Last-Modified"])'; }
        location /status { rewrite_by_lua 'ngx.header["X-S"] = ngx.status'; content_by_lua 'ngx.say(ngx.status)'; header_filter_by_lua 'ngx.header["X-F"] = ngx.status'; }
        location /abc { content_by_lua 'ngx.status = "abc" ngx.say("created")'; }
        location /numeric { content_by_lua 'ngx.status = "201" ngx.say(ngx.status)'; }
        location /underscores { lua_transform_underscores_in_response_headers off; content_by_lua 'ngx.header.foo_bar = "Hello" ngx.say(ngx.header.foo_bar, " ", ngx.header["foo-bar"])'; }
        location /names { content_by_lua_block { ngx.header["header: value\\rfoo:bar\\nbar:foo"] = "xx" ngx.header["a(b)<c>@,;/[]?={}"] = "1" ngx.header["q'x%y"] = "2" ngx.say("foo") } }
        location /cleared { content_by_lua 'ngx.header.content_length = 3 ngx.header.content_length = nil ngx.say("Hello")'; }
        """

    @Test func headersAsTheReferenceTreatsThem() throws {
        let server = try TestServer(server: Self.server)
        #expect(server.get("/ct").body == "hello, text/my-plain\n")
        #expect(server.get("/cc").body == "private; no-store|1|nil\n")
        let cut = server.get("/cl")
        #expect(cut.header("Content-Length") == "3")
        #expect(cut.body == "Hel")
        #expect(server.get("/clbad").status == 500)
        #expect(server.log.waitFor("failed to set header"))
        let modified = server.get("/lm", headers: ["If-Modified-Since: Thu, 18 Nov 2010 11:27:35 GMT"])
        #expect(modified.status == 304)
        #expect(modified.header("Last-Modified") == "Thu, 18 Nov 2010 11:27:35 GMT")
        #expect(modified.header("Content-Type") == nil)
        #expect(server.get("/lm").status == 200)
    }

    /// `ngx.status` reads 0 until it is set or the head goes out (the filters see the status),
    /// takes numeric strings and refuses other strings (a 500), as resty.core's `int` parameter.
    @Test func statusAsTheReferenceReadsIt() throws {
        let server = try TestServer(server: Self.server)
        let response = server.get("/status")
        #expect(response.body == "0\n")
        #expect(response.header("X-S") == "0")
        #expect(response.header("X-F") == "200")
        #expect(server.get("/abc").status == 500)
        #expect(server.log.waitFor("bad argument #2 to 'ngx_http_lua_ffi_set_resp_status' (cannot convert 'string' to 'int')"))
        let numeric = server.get("/numeric")
        #expect(numeric.status == 201)
        #expect(numeric.body == "201\n")
    }

    /// `lua_transform_underscores_in_response_headers off` keeps `_` in names; a Content-Length
    /// Lua cleared sends the response without one (chunked), as nginx does.
    @Test func underscoresAndAClearedLength() throws {
        let server = try TestServer(server: Self.server)
        let kept = server.exchange("GET /underscores HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(kept.contains("\r\nfoo_bar: Hello\r\n"))
        #expect(kept.hasSuffix("Hello nil\n"))
        let cleared = server.get("/cleared")
        #expect(cleared.header("Content-Length") == nil)
        #expect(cleared.header("Transfer-Encoding") == "chunked")
        #expect(cleared.body == "Hello\n")
    }

    /// Header names keep only token bytes; the rest go out as `%XX`, byte for byte as ref-nginx.
    @Test func unsafeHeaderNamesAreEscaped() throws {
        let server = try TestServer(server: Self.server)
        let raw = server.exchange("GET /names HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(raw.contains("\r\nheader%3A%20value%0Dfoo%3Abar%0Abar%3Afoo: xx\r\n"))
        #expect(raw.contains("\r\na%28b%29%3Cc%3E%40%2C%3B%2F%5B%5D%3F%3D%7B%7D: 1\r\n"))
        #expect(raw.contains("\r\nq'x%y: 2\r\n"))
    }
}
