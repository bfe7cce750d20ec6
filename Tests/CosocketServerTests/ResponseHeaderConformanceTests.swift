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
}
