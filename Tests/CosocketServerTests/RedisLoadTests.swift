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
        let finished = Self.runClientsAtOnce(clients, port: server.port) { client, connection in
            for request in 0..<requestsPerClient {
                connection.send("GET /get?key=key-\(client)-\(request) HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = connection.readResponse()
                let expected = "value-\(client)-\(request)-\(client * 7 + request)"
                if response?.status != 200 || response?.body != expected {
                    failures.withLock { wrong.append("\(client)/\(request): \(response?.status ?? 0) \(response?.body ?? "-")") }
                }
            }
        }
        #expect(finished)
        let failed = failures.withLock { wrong }
        #expect(failed.isEmpty, "\(failed.count) wrong answers, e.g. \(failed.prefix(5)); log: \(server.log.lines.prefix(5))")
    }

    /// Fan-out beyond the pool size: 50 clients at once, each request ten light threads doing
    /// a pooled GET, against a pool of 20. The replies that give connections back must run
    /// before new requests open connections of their own: most GETs reuse a connection
    /// (without that, fewer than one in ten did).
    @Test func fanOutBeyondThePoolReusesReturningConnections() throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let server = try TestServer("""
            worker_processes 1;
            events { worker_connections 1024; }
            http {
                lua_package_path "/usr/share/lua/5.1/?.lua;;";
                server {
                    listen 127.0.0.1:@PORT@;
                    location = /fan {
                        content_by_lua_block {
                            local redis = require "nginx.redis"
                            local function ping()
                                local r = redis:new()
                                r:set_timeout(5000)
                                assert(r:connect("127.0.0.1", \(redis.port)))
                                local pong = assert(r:ping())
                                r:set_keepalive(10000, 20)
                                return pong
                            end
                            local threads = {}
                            for i = 1, 10 do threads[i] = ngx.thread.spawn(ping) end
                            local answered = 0
                            for i = 1, 10 do
                                local ok, pong = ngx.thread.wait(threads[i])
                                if ok and pong == "PONG" then answered = answered + 1 end
                            end
                            ngx.print(answered)
                        }
                    }
                    location = /stats {
                        content_by_lua_block {
                            local stats = require("cosocket.pool").stats("127.0.0.1:\(redis.port)")
                            ngx.print(stats.created, " ", stats.reused)
                        }
                    }
                }
            }
            """)
        let clients = 50
        let requestsPerClient = 20
        let answers = NSLock()
        nonisolated(unsafe) var bad = 0
        let finished = Self.runClientsAtOnce(clients, port: server.port) { _, connection in
            for _ in 0..<requestsPerClient {
                connection.send("GET /fan HTTP/1.1\r\nHost: t\r\n\r\n")
                if connection.readResponse()?.body != "10" { answers.withLock { bad += 1 } }
            }
        }
        #expect(finished)
        #expect(answers.withLock { bad } == 0)
        let client = HTTPClient(port: server.port, timeoutSeconds: 5)
        defer { client.close() }
        client.send("GET /stats HTTP/1.1\r\nHost: t\r\n\r\n")
        let figures = (client.readResponse()?.body ?? "").split(separator: " ").compactMap { Int($0) }
        try #require(figures.count == 2)
        let (created, reused) = (figures[0], figures[1])
        #expect(created + reused == clients * requestsPerClient * 10)
        #expect(reused > created, "created \(created), reused \(reused)")
    }

    /// Runs `body` for `count` clients, each on its own thread with its own keep-alive
    /// connection, all released at once (they connect and send together); `false` when they
    /// have not all finished within 60 s.
    static func runClientsAtOnce(
        _ count: Int, port: Int, _ body: @escaping @Sendable (Int, HTTPClient) -> Void
    ) -> Bool {
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for client in 0..<count {
            group.enter()
            let thread = Thread {
                start.wait()
                let connection = HTTPClient(port: port, timeoutSeconds: 20)
                defer { connection.close() }
                body(client, connection)
                group.leave()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
        for _ in 0..<count { start.signal() }
        return group.wait(timeout: .now() + 60) == .success
    }
}
