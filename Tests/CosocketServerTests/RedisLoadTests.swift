import CosocketTestSupport
import Foundation
import Testing

/// An OpenResty-style configuration with Debian's lua-nginx-redis against a real redis-server,
/// under 200 concurrent keep-alive clients: every answer must be the value of its own key.
@Suite struct RedisLoadTests {
    @Test func twoHundredConcurrentClientsGetCorrectAnswers() throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let clients = 200
        let requestsPerClient = 5
        let inspector = redis.inspector()
        var setup = ""
        for client in 0..<clients {
            for request in 0..<requestsPerClient { setup += "SET key-\(client)-\(request) value-\(client)-\(request)-\(client * 7 + request)\r\n" }
        }
        _ = inspector.query(setup + "PING\r\n", until: "+PONG\r\n")
        let server = try TestServer("""
            worker_processes 2;
            events { worker_connections 1024; }
            http {
                lua_package_path "/usr/share/lua/5.1/?.lua;;";
                lua_socket_pool_size 64;
                server {
                    listen 127.0.0.1:@PORT@;
                    location = /get {
                        content_by_lua_block {
                            local redis = require "nginx.redis"
                            local r = redis:new()
                            r:set_timeout(5000)
                            local ok, err = r:connect("127.0.0.1", \(redis.port))
                            if not ok then ngx.log(ngx.ERR, "connect: ", err) return ngx.exit(502) end
                            local value, err = r:get(ngx.var.arg_key)
                            if not value then ngx.log(ngx.ERR, "get: ", err) return ngx.exit(502) end
                            ngx.print(value)
                            r:set_keepalive(10000, 64)
                        }
                    }
                }
            }
            """)
        let failures = NSLock()
        nonisolated(unsafe) var wrong: [String] = []
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for client in 0..<clients {
            group.enter()
            let thread = Thread {
                start.wait()
                let connection = HTTPClient(port: server.port, timeoutSeconds: 20)
                defer { connection.close() }
                for request in 0..<requestsPerClient {
                    connection.send("GET /get?key=key-\(client)-\(request) HTTP/1.1\r\nHost: t\r\n\r\n")
                    let response = connection.readResponse()
                    let expected = "value-\(client)-\(request)-\(client * 7 + request)"
                    if response?.status != 200 || response?.body != expected {
                        failures.withLock { wrong.append("\(client)/\(request): \(response?.status ?? 0) \(response?.body ?? "-")") }
                    }
                }
                group.leave()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
        // All connect and send at once.
        for _ in 0..<clients { start.signal() }
        #expect(group.wait(timeout: .now() + 60) == .success)
        let failed = failures.withLock { wrong }
        #expect(failed.isEmpty, "\(failed.count) wrong answers, e.g. \(failed.prefix(5)); log: \(server.log.lines.prefix(5))")
    }
}
