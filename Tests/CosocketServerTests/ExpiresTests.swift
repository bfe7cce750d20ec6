import CosocketLua
import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `expires`, compared with what the reference sent for the same locations (`ref-nginx`):
/// `Expires` and `Cache-Control` from the response's time, `epoch`, `max`, negative times,
/// `@time` of day, a handler's own `Cache-Control` replaced in place, no headers on a 404.
@Suite struct ExpiresTests {
    static func seconds(_ date: String?) -> Int? {
        guard var date else { return nil }
        return date.withUTF8 { HTTPDate.parse(UnsafeRawBufferPointer($0)) }
    }

    @Test func headersAsTheReferenceSendsThem() throws {
        let server = try TestServer(server: """
            location /h { expires 1h; content_by_lua_block { ngx.say("x") } }
            location /neg { expires -1; content_by_lua_block { ngx.say("x") } }
            location /epoch { expires epoch; content_by_lua_block { ngx.say("x") } }
            location /max { expires max; content_by_lua_block { ngx.say("x") } }
            location /off { expires 1h; location /off/inner { expires off; content_by_lua_block { ngx.say("x") } } }
            location /cc { expires 30s; add_header X-A 1; content_by_lua_block { ngx.header["Cache-Control"] = {"private", "no-store"}; ngx.header["X-B"] = "2"; ngx.say("x") } }
            location /404 { expires 1h; content_by_lua_block { ngx.exit(404) } }
            location /tod { expires @15h30m; content_by_lua_block { ngx.say("x") } }
            location /var { expires $arg_e; content_by_lua_block { ngx.say("x") } }
            """)
        let hour = server.get("/h")
        #expect(hour.header("Cache-Control") == "max-age=3600")
        #expect(Self.seconds(hour.header("Expires")).map { $0 - (Self.seconds(hour.header("Date")) ?? 0) }.map { (3599...3600).contains($0) } == true)
        let negative = server.get("/neg")
        #expect(negative.header("Cache-Control") == "no-cache")
        #expect(Self.seconds(negative.header("Expires")).map { $0 < (Self.seconds(negative.header("Date")) ?? 0) } == true)
        #expect(server.get("/epoch").header("Expires") == "Thu, 01 Jan 1970 00:00:01 GMT")
        #expect(server.get("/epoch").header("Cache-Control") == "no-cache")
        #expect(server.get("/max").header("Expires") == "Thu, 31 Dec 2037 23:55:55 GMT")
        #expect(server.get("/max").header("Cache-Control") == "max-age=315360000")
        let off = server.get("/off/inner")
        #expect(off.header("Expires") == nil && off.header("Cache-Control") == nil)
        // The reference's order: the handler's Cache-Control replaced where it was, Expires
        // after the handler's headers, add_header's last.
        let cc = server.get("/cc")
        let names = cc.headers.map(\.name).filter { ["Cache-Control", "X-B", "Expires", "X-A"].contains($0) }
        #expect(names == ["Cache-Control", "X-B", "Expires", "X-A"])
        #expect(cc.headers("Cache-Control") == ["max-age=30"])
        let missing = server.get("/404")
        #expect(missing.status == 404 && missing.header("Expires") == nil)
        let tod = server.get("/tod")
        let expires = Self.seconds(tod.header("Expires")) ?? 0
        #expect(tod.header("Cache-Control") == "max-age=\(expires - (Self.seconds(tod.header("Date")) ?? 0))")
        #expect(tod.header("Expires")?.hasSuffix(" 15:30:00 GMT") == true || TimeZone.current.secondsFromGMT() != 0)
        #expect(server.get("/var?e=max").header("Cache-Control") == "max-age=315360000")
        #expect(server.get("/var?e=off").header("Cache-Control") == nil)
    }

    @Test(arguments: [
        ("expires;", "invalid number of arguments in \"expires\" directive"),
        ("expires abc;", "\"expires\" directive invalid value"),
        ("expires modified;", "\"expires\" directive invalid value"),
        ("expires 1h 2h;", "\"expires\" directive invalid value"),
    ]) func badValuesAreRefused(_ directive: String, _ message: String) throws {
        let nodes = try ConfigParser().parse("events {} http { server { listen 127.0.0.1:1; location / { \(directive) } } }", file: "test.conf")
        #expect {
            try ConfigurationBuilder(prefix: "/tmp").build(nodes)
        } throws: { error in
            String(describing: error).hasPrefix(message)
        }
    }
}
