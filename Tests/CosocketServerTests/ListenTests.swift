import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `listen` in the forms nginx takes: a unix-domain socket (created at start, removed at stop,
/// shared by all workers), IPv6, a bare port, `*:port`, and the socket parameters.
@Suite struct ListenTests {
    @Test func unixDomainSocketAndIPv6AndParameters() throws {
        let path = makeTemporaryDirectory() + "/app.sock"
        let ipv6 = PortReservation()
        let ipv6Port = ipv6.port
        ipv6.release()
        let relay = """
            content_by_lua_block {
                local s = ngx.socket.tcp()
                local ok, err = s:connect(ngx.var.arg_to == "unix" and "unix:\(path)" or "::1",
                                          ngx.var.arg_to ~= "unix" and \(ipv6Port) or nil)
                if not ok then ngx.say("connect: ", err) return end
                s:send("GET /hello HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
                local body = s:receive("*a")
                ngx.print((body:match("\\r\\n\\r\\n(.*)$")))
            }
            """
        let server = try TestServer(
            """
            worker_processes 2;
            events {}
            http {
                server {
                    listen 127.0.0.1:@PORT@ backlog=64 reuseport so_keepalive=on;
                    listen unix:\(path);
                    listen [::1]:\(ipv6Port) default_server;
                    location /hello { content_by_lua_block { ngx.say("hello from ", ngx.var.remote_addr) } }
                    location /relay { \(relay) }
                }
            }
            """
        )
        #expect(FileManager.default.fileExists(atPath: path))
        for _ in 0..<4 {  // both workers' shares of the unix socket answer
            #expect(server.get("/relay?to=unix").body == "hello from unix:\n")
        }
        #expect(server.get("/relay?to=ipv6").body == "hello from ::1\n")
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func listenForms() throws {
        func address(_ argument: String) throws -> ListenAddress? {
            let text = "events {} http { server { listen \(argument); location / { return 204; } } }"
            let nodes = try ConfigParser(fileSystem: .inMemory(["/c/nginx.conf": text])).parseFile("/c/nginx.conf")
            return try ConfigurationBuilder(prefix: "/c").build(nodes).servers.first?.listen.first
        }
        #expect(try address("8080") == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(try address("*:8080") == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(try address("127.0.0.1") == ListenAddress(host: "127.0.0.1", port: 80))
        #expect(try address("localhost:81") == ListenAddress(host: "127.0.0.1", port: 81))
        #expect(try address("[::1]:82") == ListenAddress(host: "::1", port: 82))
        #expect(try address("unix:/run/app.sock")?.unixPath == "/run/app.sock")
        #expect(throws: ConfigError.self) { try address("8080 backlog=x") }
        #expect(throws: ConfigError.self) { try address("8080 nonsense") }
        #expect(throws: ConfigError.self) { try address("8080 ssl") }
        #expect(throws: ConfigError.self) { try address("70000") }
    }
}
