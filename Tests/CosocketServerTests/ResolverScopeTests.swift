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

    /// Ours, per location: `lua_system_resolver off` refuses names without a `resolver` as
    /// the reference does, and `lua_socket_connect_fallback off` connects to one address
    /// picked at random, as the reference does (multi.test: one live address of four).
    @Test func theSwitchesApplyPerLocation() throws {
        let target = TestListener { fd in _ = "hi\n".withCString { write(fd, $0, 3) } }
        let dead = (2...4).map { RefusingPort(host: "127.0.0.\($0)", port: target.port) }
        let dns = try ExternalServer(.dnsmasq((1...4).map { "--host-record=multi.test,127.0.0.\($0)" } + ["--local-ttl=600"]))
        let loop = """
            local connected, refused = 0, 0
            for _ = 1, 24 do
                local s = ngx.socket.tcp()
                local ok, err = s:connect("multi.test", \(target.port))
                if ok then connected = connected + 1 s:close() elseif err == "connection refused" then refused = refused + 1 end
            end
            ngx.say(connected == 24, " ", refused > 0)
            """
        let server = try TestServer(
            server: """
                location /off {
                    lua_system_resolver off;
                    content_by_lua_block {
                        ngx.say(ngx.socket.tcp():connect("multi.test", \(target.port)))
                        ngx.say(ngx.socket.udp():setpeername("multi.test", 9))
                    }
                }
                location /fallback {
                    resolver 127.0.0.1:\(dns.port) ipv6=off;
                    content_by_lua_block { \(loop) }
                }
                location /single {
                    resolver 127.0.0.1:\(dns.port) ipv6=off;
                    lua_socket_connect_fallback off;
                    content_by_lua_block { \(loop) }
                }
                """)
        #expect(server.get("/off").body == "nilno resolver defined to resolve \"multi.test\"\nnilno resolver defined to resolve \"multi.test\"\n")
        #expect(server.get("/fallback").body == "true false\n")
        #expect(server.get("/single").body == "false true\n")
        _ = dead
    }

    @Test func refusedWhereNginxRefusesIt() {
        let text = "events {} http { server { listen 127.0.0.1:1; location / { if ($arg_a) { resolver 127.0.0.1; } } } }"
        let message = configurationError(text)
        #expect(message == "\"resolver\" directive is not allowed here")
    }
}
