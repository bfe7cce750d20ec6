import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `resolver` and `resolver_timeout` in server and location (nginx's core module allows them
/// in http, server and location): a location's cosockets resolve through its own resolver,
/// against a real dnsmasq on loopback.
@Suite struct ResolverScopeTests {
    @Test func aLocationResolvesThroughItsOwnResolver() throws {
        let dns = try ExternalServer(.dnsmasq(["--host-record=scoped.test,127.0.0.1"]))
        let target = TestListener { fd in _ = "hi\n".withCString { write(fd, $0, 3) } }
        // The http-level resolver is a port nothing answers on: only the location that
        // names dnsmasq resolves the name.
        let deadPort = freePort()
        let server = try TestServer(
            server: """
                location /own {
                    resolver 127.0.0.1:\(dns.port);
                    content_by_lua_block {
                        local s = ngx.socket.tcp()
                        ngx.say(s:connect("scoped.test", \(target.port)))
                        ngx.say(s:receive())
                        local u = ngx.socket.udp()
                        ngx.say(u:setpeername("scoped.test", 9))
                    }
                }
                location /http {
                    content_by_lua_block {
                        local s = ngx.socket.tcp()
                        ngx.say(s:connect("scoped.test", \(target.port)))
                    }
                }
                """,
            http: "resolver 127.0.0.1:\(deadPort); resolver_timeout 300ms;")
        #expect(server.get("/own").body == "1\nhi\n1\n")
        #expect(server.get("/http").body == "nilscoped.test could not be resolved (110: Operation timed out)\n")
    }

    @Test func refusedWhereNginxRefusesIt() {
        let text = "events {} http { server { listen 127.0.0.1:1; location / { if ($arg_a) { resolver 127.0.0.1; } } } }"
        let message = configurationError(text)
        #expect(message == "\"resolver\" directive is not allowed here")
    }
}
