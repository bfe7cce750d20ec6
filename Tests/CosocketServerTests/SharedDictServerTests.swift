import Foundation
import Testing

@testable import CosocketServer

/// `lua_shared_dict` in the server: one dict shared by all workers, kept across reloads.
@Suite struct SharedDictServerTests {
    static func configuration(extra: String = "") -> String {
        """
        worker_processes 2;
        events {}
        http {
            lua_shared_dict counters 1m;
            \(extra)
            server {
                listen 127.0.0.1:@PORT@;
                location = /incr {
                    content_by_lua_block {
                        local d = ngx.shared.counters
                        for i = 1, 10 do
                            d:incr("hits", 1, 0)
                            ngx.sleep(0)  -- let other requests of this worker interleave
                        end
                        ngx.print(ngx.worker.id())
                    }
                }
                location = /get { content_by_lua_block { ngx.print(ngx.shared.counters:get("hits")) } }
            }
        }
        """
    }

    /// GETs `path` from `count` threads at once; returns the bodies.
    static func concurrently(_ count: Int, port: Int, _ path: String) -> [String] {
        let group = DispatchGroup()
        let lock = NSLock()
        nonisolated(unsafe) var bodies: [String] = []
        for _ in 0..<count {
            group.enter()
            Thread {
                let client = HTTPClient(port: port)
                client.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                let body = client.readResponse()?.body ?? ""
                client.close()
                lock.withLock { bodies.append(body) }
                group.leave()
            }.start()
        }
        group.wait()
        return bodies
    }

    @Test func twoWorkersIncrementingOneKeyFrom100RequestsCountExactly() throws {
        let server = try TestServer(Self.configuration())
        let bodies = Self.concurrently(100, port: server.port, "/incr")
        #expect(bodies.count == 100)
        #expect(bodies.allSatisfy { $0 == "0" || $0 == "1" })
        #expect(server.get("/get").body == "1000")
    }

    @Test func contentsSurviveReload() throws {
        let server = try TestServer(Self.configuration())
        _ = server.get("/incr")
        #expect(server.get("/get").body == "10")
        let text = Self.configuration(extra: "lua_shared_dict other 100k;").replacing("@PORT@", with: String(server.port))
        writeFile(server.prefix + "/conf/nginx.conf", text)
        try server.server.reload(TestServer.load(server.prefix + "/conf/nginx.conf", prefix: server.prefix))
        _ = server.get("/incr")
        #expect(server.get("/get").body == "20")
    }

    @Test func directiveErrorsInNginxsWords() throws {
        func error(_ directive: String) -> String {
            let prefix = makeTemporaryDirectory()
            writeFile(prefix + "/conf/nginx.conf", "events {}\nhttp {\n\(directive)\n}\n")
            do {
                _ = try TestServer.load(prefix + "/conf/nginx.conf", prefix: prefix)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(error("lua_shared_dict d 8191;").hasPrefix("invalid lua shared dict size \"8191\" in "))
        #expect(error("lua_shared_dict d 1x;").hasPrefix("invalid lua shared dict size \"1x\""))
        #expect(error("lua_shared_dict d;").hasPrefix("invalid number of arguments in \"lua_shared_dict\" directive"))
        #expect(error("lua_shared_dict d 1m; lua_shared_dict d 2m;").hasPrefix("lua_shared_dict \"d\" is already defined as \"d\""))
        #expect(error("lua_shared_dict d 8k;").hasPrefix("ngx_slab_alloc() failed: no memory"))
        #expect(error("lua_shared_dict d 12k;") == "accepted")
        #expect(error("lua_shared_dict d 2000g;").hasPrefix("mmap(MAP_ANON|MAP_SHARED, 2147483648000) failed"))
        #expect(error("lua_shared_dict d 99999999999999999999;").hasPrefix("invalid lua shared dict size"))
    }
}
