import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `if`, `set`, `return` and `break` as nginx's rewrite module runs them, with Lua directives
/// inside a location's `if` block. Every expected body is what Debian's nginx answered for the
/// same configuration (`ref-nginx`, December 2026).
@Suite struct RewriteScriptTests {
    static let locations = #"""
        if ($arg_srv) { return 403 "server-if"; }
        location /inherit {
          rewrite_by_lua_block { ngx.ctx.r = "outer-rewrite" }
          content_by_lua_block { ngx.say("outer content ", ngx.ctx.r, " y=", ngx.var.y) }
          if ($arg_x) { set $y 1; }
        }
        location /own {
          rewrite_by_lua_block { ngx.ctx.r = "outer-rewrite" }
          content_by_lua_block { ngx.say("outer content ", tostring(ngx.ctx.r)) }
          if ($arg_x = "a") { content_by_lua_block { ngx.say("inner content ", tostring(ngx.ctx.r)) } }
          if ($arg_x ~ "^b(\d+)$") { rewrite_by_lua_block { ngx.ctx.r = "inner-rewrite " .. ngx.var[1] } }
        }
        location /cond {
          set $r "";
          if ($arg_a) { set $r "${r}a"; }
          if ($arg_a = 0) { set $r "${r}zero"; }
          if ($arg_a != "q") { set $r "${r}notq"; }
          if ($arg_a ~* "^AB") { set $r "${r}ci"; }
          if ($arg_a !~ "b") { set $r "${r}nob"; }
          if ($arg_a !~* "B") { set $r "${r}noB"; }
          if (-f /etc/hostname) { set $r "${r}f"; }
          if (!-f /etc) { set $r "${r}nf"; }
          if (-d /etc) { set $r "${r}d"; }
          if (-e /nonexist) { set $r "${r}e"; }
          if (-x /bin/sh) { set $r "${r}x"; }
          if ($arg_a ~ (?<nm>c+)) { set $r "${r}named$nm"; }
          content_by_lua_block { ngx.say("r=", ngx.var.r) }
        }
        location /brk {
          set $r "1";
          if ($arg_b) { set $r "2"; break; }
          set $r "${r}3";
          content_by_lua_block { ngx.say("r=", ngx.var.r) }
        }
        location /multi {
          if ($arg_a) { set $r a; }
          if ($arg_b) { content_by_lua_block { ngx.say("b content r=", ngx.var.r) } }
          content_by_lua_block { ngx.say("outer r=", ngx.var.r) }
        }
        location /multi2 {
          if ($arg_b) { content_by_lua_block { ngx.say("b content") } }
          if ($arg_a) { set $r a; }
          content_by_lua_block { ngx.say("outer r=", ngx.var.r) }
        }
        location /capture {
          if ($uri ~ "^/capture/(\w+)/(\d)") { return 200 "$2-$1-$1x"; }
          return 404;
        }
        location /socket {
          lua_socket_read_timeout 5s;
          if ($arg_short) { lua_socket_read_timeout 50ms; }
          content_by_lua_block {
            local s = ngx.socket.tcp()
            ngx.say(s:connect("127.0.0.1", tonumber(ngx.var.arg_port)))
            local started = ngx.now()
            ngx.say(s:receive())
            ngx.say(ngx.now() - started < 1)
          }
        }
        """#

    @Test func conditionsBlocksAndInheritanceAsTheReference() throws {
        let server = try TestServer(server: Self.locations)
        let expected: [(String, String)] = [
            ("/inherit", "outer content outer-rewrite y=\n"),
            ("/inherit?x=1", "outer content outer-rewrite y=1\n"),
            ("/own", "outer content outer-rewrite\n"),
            ("/own?x=a", "inner content outer-rewrite\n"),
            ("/own?x=b12", "outer content inner-rewrite 12\n"),
            ("/cond?a=ab", "r=anotqcifnfdx\n"),
            ("/cond?a=0", "r=zeronotqnobnoBfnfdx\n"),
            ("/cond?a=ABc", "r=anotqcinobfnfdxnamedc\n"),
            ("/cond?a=xcc", "r=anotqnobnoBfnfdxnamedcc\n"),
            ("/brk", "r=13\n"),
            ("/brk?b=1", "r=2\n"),
            ("/inherit?srv=1", "server-if"),
            ("/multi?a=1", "outer r=a\n"),
            ("/multi?a=1&b=1", "b content r=a\n"),
            ("/multi2?a=1&b=1", "outer r=a\n"),
            ("/multi2?b=1", "b content\n"),
            ("/capture/ab/7z", "7-ab-abx"),
        ]
        for (uri, body) in expected {
            #expect(server.get(uri).body == body, "\(uri)")
        }
        #expect(server.get("/inherit?srv=1").status == 403)
        #expect(server.get("/capture/none").status == 404)
    }

    /// A socket setting of the `if` block reaches the cosockets of requests that enter it.
    @Test func socketSettingsOfAnIfBlock() throws {
        let server = try TestServer(server: Self.locations)
        let late = TestListener { fd in
            usleep(300_000)
            _ = "late\n".withCString { write(fd, $0, 5) }
        }
        #expect(server.get("/socket?short=1&port=\(late.port)").body == "1\nniltimeout\ntrue\n")
        #expect(server.get("/socket?port=\(late.port)").body == "1\nlate\ntrue\n")
    }

    @Test func refusedAsTheReferenceRefuses() {
        func error(_ body: String) -> String? {
            configurationError("events {} http { server { listen 127.0.0.1:1; \(body) } }")
        }
        // nginx 1.22's words for each (ref-nginx -t).
        #expect(error("location / { if ($a) { if ($b) { return 200; } } }") == "\"if\" directive is not allowed here")
        #expect(error("if ($a) { content_by_lua_block { } }") == "\"content_by_lua_block\" directive is not allowed here")
        #expect(error("location / { if ($a) { default_type text/html; } }") == "\"default_type\" directive is not allowed here")
        #expect(error("location / { if ($a) { keepalive_timeout 5; } }") == "\"keepalive_timeout\" directive is not allowed here")
        #expect(error("location / { if $a { return 200; } }") == "invalid condition \"$a\"")
        #expect(error("location / { if ($a ^ b) { return 200; } }") == "unexpected \"^\" in condition")
        #expect(error("location / { if ($a ~ \"(\") { return 200; } }")?.hasPrefix("pcre2_compile() failed: missing closing parenthesis in \"(\"") == true)
        #expect(error("location / { if ($a) { break 1; } }") == "invalid number of arguments in \"break\" directive")
        #expect(error("location / { if ($a) { lua_socket_read_timeout 1s; rewrite_by_lua_block { } } }") == nil)
        #expect(error("if ($a) { set $b 1; break; return 200; }") == nil)
    }
}

/// `return 3xx /path` is made absolute as nginx's header filter makes it; `ngx.redirect` and a
/// Location set from Lua are left as given (each answer as Debian's nginx gave it).
@Suite struct AbsoluteRedirectTests {
    @Test func returnedPathsBecomeAbsolute() throws {
        let server = try TestServer(server: #"""
            location /a { return 302 /x; }
            location /b { content_by_lua_block { ngx.redirect("/y") } }
            location /c { content_by_lua_block { ngx.header["Location"] = "/z" ngx.exit(301) } }
            location /d { return 301 http://other/q; }
            location /off { absolute_redirect off; return 302 /x; }
            """#)
        #expect(server.get("/a", headers: ["Host: Foo.Bar:99"]).header("Location") == "http://foo.bar:\(server.port)/x")
        #expect(server.get("/b").header("Location") == "/y")
        #expect(server.get("/c").header("Location") == "/z")
        #expect(server.get("/d").header("Location") == "http://other/q")
        #expect(server.get("/off").header("Location") == "/x")
    }
}

/// The `rewrite` directive, in a server, locations and an `if`: every answer is what Debian's
/// nginx gave for the same configuration (`Fixtures/rewrite-locations.conf`, ref-nginx,
/// December 2026).
@Suite struct RewriteDirectiveTests {
    @Test func rewritesAsTheReference() throws {
        let locations = try String(
            contentsOfFile: RequestRewriteTests.fixtures.appendingPathComponent("rewrite-locations.conf").path, encoding: .utf8)
        let server = try TestServer(server: "server_name test;\n" + locations)
        let host = ["Host: 127.0.0.1:\(server.port)"]
        let bodies: [(String, String)] = [
            ("/srv/abc?q=1", "target /target/abc args=q=1 internal=true\n"),
            ("/last/x?q=2", "target /target/x args=q=2 internal=true\n"),
            ("/brk/y?q=3", "brk /moved/y q=3\n"),
            ("/plain/z", "target /target/p-z args=nil internal=true\n"),
            ("/args/w?q=4", "target /target/w args=x=w&q=4 internal=true\n"),
            ("/noargs/v?q=5", "target /target/v args= internal=true\n"),
            ("/nomatch", "nomatch /nomatch\n"),
            ("/twice/t", "target /target/t2-t args=nil internal=true\n"),
            ("/ifrw?go=1", "target /target/from-if args=go=1 internal=true\n"),
            ("/ifrw", "ifrw\n"),
            ("/cap/bob/42", "target /target/42-bob args=nil internal=true\n"),
        ]
        for (uri, body) in bodies {
            #expect(server.get(uri, headers: host).body == body, "\(uri)")
        }
        let redirects: [(String, Int, String)] = [
            ("/red/r?q=6", 302, "http://127.0.0.1:\(server.port)/elsewhere/r?q=6"),
            ("/perm/p", 301, "http://127.0.0.1:\(server.port)/elsewhere/p"),
            ("/ext/e?q=7", 302, "http://other.example/e?q=7"),
            ("/extq/e?q=8", 302, "http://other.example/e"),
        ]
        for (uri, status, location) in redirects {
            let response = server.get(uri, headers: host)
            #expect(response.status == status, "\(uri)")
            #expect(response.header("Location") == location, "\(uri)")
        }
        #expect(server.get("/loop", headers: host).status == 500)
        #expect(server.log.contains("rewrite or internal redirection cycle while processing \"/loop\""))
    }

    @Test func refusedAsTheReferenceRefuses() {
        func error(_ body: String) -> String? {
            configurationError("events {} http { server { listen 127.0.0.1:1; \(body) } }")
        }
        #expect(error("rewrite ^/a /b lastx;") == "invalid parameter \"lastx\"")
        #expect(error("rewrite ^/a;") == "invalid number of arguments in \"rewrite\" directive")
        #expect(error("rewrite ^/a /b last extra;") == "invalid number of arguments in \"rewrite\" directive")
        #expect(error("location / { rewrite ( /b; }")?.hasPrefix("pcre2_compile() failed") == true || error("location / { rewrite ( /b; }")?.contains("compile") == true)
    }
}
