import CosocketLua
import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// Each directive, observed through real HTTP requests.
@Suite struct DirectiveTests {
    @Test(arguments: [1, 2]) func workerProcessesServeAndReportCountAndID(workers: Int) throws {
        let server = try TestServer(
            server: "location / { content_by_lua_block { ngx.print(ngx.worker.count(), \" \", ngx.worker.id()) } }",
            main: "worker_processes \(workers);"
        )
        var ids: Set<String> = []
        for _ in 0..<40 {
            let response = server.get("/")
            #expect(response.status == 200)
            let parts = response.body.split(separator: " ")
            #expect(parts.first == "\(workers)")
            if parts.count == 2 { ids.insert(String(parts[1])) }
        }
        // Every id is a valid worker index.
        #expect(!ids.isEmpty)
        #expect(ids.isSubset(of: Set((0..<workers).map(String.init))))
    }

    @Test func setAndReturnWithTextRedirectsAndBareCodes() throws {
        let server = try TestServer(server: """
            set $greeting hello;
            location = /text { return 200 "plain text"; }
            location = /created { return 201 made; }
            location = /moved { return 301 http://example.test/new; }
            location = /found { return 302 /elsewhere; }
            location = /temp { return 307 /again; }
            location = /forbidden { return 403; }
            location = /nocontent { return 204; }
            location = /teapot { return 418; }
            location = /var { set $answer 42; content_by_lua_block { ngx.say(ngx.var.answer, " ", ngx.var.greeting) } }
            """)
        let text = server.get("/text")
        #expect(text.status == 200)
        #expect(text.body == "plain text")
        #expect(server.get("/created").status == 201)
        #expect(server.get("/created").body == "made")
        let moved = server.get("/moved")
        #expect(moved.status == 301)
        #expect(moved.header("Location") == "http://example.test/new")
        #expect(moved.body.contains("301 Moved Permanently"))
        #expect(server.get("/found").status == 302)
        // A path is made absolute (absolute_redirect on), as nginx writes it.
        #expect(server.get("/found").header("Location") == "http://test:\(server.port)/elsewhere")
        #expect(server.get("/temp").status == 307)
        #expect(server.get("/temp").header("Location") == "http://test:\(server.port)/again")
        let forbidden = server.get("/forbidden")
        #expect(forbidden.status == 403)
        #expect(forbidden.body.contains("<center><h1>403 Forbidden</h1></center>"))
        #expect(forbidden.header("Content-Type") == "text/html")
        let noContent = server.get("/nocontent")
        #expect(noContent.status == 204)
        #expect(server.get("/teapot").status == 418)
        #expect(server.get("/var").body == "42 hello\n")
    }

    @Test func defaultTypeIsInheritedAndOverridden() throws {
        let server = try TestServer(
            server: """
                location = /http { content_by_lua_block { ngx.print("x") } }
                location = /own { default_type text/css; content_by_lua_block { ngx.print("x") } }
                location = /explicit { content_by_lua_block { ngx.header.content_type = "image/png"; ngx.print("x") } }
                """,
            http: "default_type application/json;"
        )
        #expect(server.get("/http").header("Content-Type") == "application/json")
        #expect(server.get("/own").header("Content-Type") == "text/css")
        #expect(server.get("/explicit").header("Content-Type") == "image/png")
    }

    @Test func defaultTypeAtServerLevel() throws {
        let server = try TestServer(server: """
            default_type text/x-server;
            location = / { content_by_lua_block { ngx.print("x") } }
            """)
        #expect(server.get("/").header("Content-Type") == "text/x-server")
    }

    @Test func clientMaxBodySizeRejectsLargerBodiesAndZeroMeansUnlimited() throws {
        let server = try TestServer(
            server: """
                location = /small { content_by_lua_block { ngx.req.read_body() ngx.print(#(ngx.req.get_body_data() or "")) } }
                location = /big { client_max_body_size 0; client_body_buffer_size 4m; content_by_lua_block { ngx.req.read_body() ngx.print(#(ngx.req.get_body_data() or "")) } }
                location = /chunked { content_by_lua_block { ngx.req.read_body() ngx.print(#(ngx.req.get_body_data() or "")) } }
                """,
            http: "client_max_body_size 10;"
        )
        func post(_ path: String, _ body: String) -> HTTPResponse {
            let client = HTTPClient(port: server.port)
            defer { client.close() }
            client.send("POST \(path) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            return client.readResponse() ?? .none
        }
        #expect(post("/small", "0123456789").body == "10")
        let tooLarge = post("/small", "0123456789a")
        #expect(tooLarge.status == 413)
        #expect(tooLarge.body.contains("413 Request Entity Too Large"))
        let large = String(repeating: "z", count: 3 << 20)
        #expect(post("/big", large).body == "\(3 << 20)")
        // Chunked bodies are limited too.
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n")
        #expect(client.readResponse()?.status == 413)
    }

    @Test func keepaliveTimeoutClosesIdleConnections() throws {
        let server = try TestServer(server: "location / { content_by_lua_block { ngx.say(\"ok\") } }", http: "keepalive_timeout 1s;")
        let client = HTTPClient(port: server.port, timeoutSeconds: 8)
        defer { client.close() }
        client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = client.readResponse()
        #expect(response?.body == "ok\n")
        #expect(response?.header("Connection") == "keep-alive")
        // The server closes (EOF, not our receive timeout) once the connection has been idle.
        #expect(client.waitForClose())
    }

    /// nginx (checked with ref-nginx) closes the connection idle longest to make room for a
    /// new client, and warns "... worker_connections are not enough, reusing connections".
    @Test func workerConnectionsMakesRoomByClosingTheLongestIdleConnection() throws {
        let server = try TestServer(
            "worker_processes 1; events { worker_connections 2; } http { server { listen 127.0.0.1:@PORT@; location / { return 200 ok; } } }"
        )
        let first = HTTPClient(port: server.port, timeoutSeconds: 5)
        let second = HTTPClient(port: server.port, timeoutSeconds: 5)
        defer { first.close(); second.close() }
        first.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(first.readResponse()?.body == "ok")
        second.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(second.readResponse()?.body == "ok")
        let third = HTTPClient(port: server.port, timeoutSeconds: 5)
        defer { third.close() }
        third.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(third.readResponse()?.body == "ok")
        #expect(first.waitForClose())
        second.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(second.readResponse()?.body == "ok")
        #expect(server.log.waitFor("2 worker_connections are not enough, reusing connections"))
    }

    /// With no idle connection to close (both have a head arriving), a new one is closed at
    /// once and the old ones are served, as nginx does.
    @Test func workerConnectionsRefusesANewClientWhenNoneIsIdle() throws {
        let server = try TestServer(
            "worker_processes 1; events { worker_connections 2; } http { server { listen 127.0.0.1:@PORT@; location / { return 200 ok; } } }"
        )
        let first = HTTPClient(port: server.port, timeoutSeconds: 5)
        let second = HTTPClient(port: server.port, timeoutSeconds: 5)
        defer { first.close(); second.close() }
        first.send("GET / HTTP/1.1\r\n")
        second.send("GET / HTTP/1.1\r\n")
        // Both heads have reached the worker before the third connects.
        Thread.sleep(forTimeInterval: 0.3)
        let third = HTTPClient(port: server.port, timeoutSeconds: 5)
        defer { third.close() }
        #expect(third.waitForClose())
        #expect(server.log.waitFor("2 worker_connections are not enough"))
        first.send("Host: t\r\n\r\n")
        #expect(first.readResponse()?.body == "ok")
        second.send("Host: t\r\n\r\n")
        #expect(second.readResponse()?.body == "ok")
    }

    @Test func luaPackagePathFindsAModuleInATemporaryDirectory() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        writeFile(directory + "/lib/greeter.lua", "local M = {} function M.greet(n) return \"hello \" .. n end return M\n")
        let server = try TestServer(
            server: """
                location = /found { content_by_lua_block { local m = require "greeter" ngx.print(m.greet("there")) } }
                location = /missing { content_by_lua_block { require "not_in_the_path" } }
                """,
            http: "lua_package_path \"\(directory)/lib/?.lua;;\";"
        )
        #expect(server.get("/found").body == "hello there")
        #expect(server.get("/missing").status == 500)
        #expect(server.log.waitFor("\(directory)/lib/not_in_the_path.lua"))
    }

    @Test(arguments: [true, false])
    func luaSocketReadTimeoutAppliesAndIsLoggedWithLogErrors(on: Bool) throws {
        let mute = TestListener { fd in Peer.waitForClientClose(fd, milliseconds: 5000) }
        defer { mute.stop() }
        let server = try TestServer(
            server: """
                location / {
                    content_by_lua_block {
                        local sock = ngx.socket.tcp()
                        assert(sock:connect("127.0.0.1", \(mute.port)))
                        local data, err = sock:receive()
                        ngx.print(tostring(data), " ", err)
                    }
                }
                """,
            http: "lua_socket_read_timeout 100ms; lua_socket_log_errors \(on ? "on" : "off");"
        )
        #expect(server.get("/").body == "nil timeout")
        if on {
            #expect(server.log.waitFor("[error] *", "lua tcp socket read timed out"))
        } else {
            #expect(!server.log.contains("lua tcp socket read timed out"))
        }
    }

    /// `lua_socket_*` in server and location blocks apply to the cosockets of that location's
    /// requests (nginx merges them per location), over the http-level values.
    @Test func luaSocketDirectivesPerServerAndLocation() throws {
        let mute = TestListener { fd in Peer.waitForClientClose(fd, milliseconds: 5000) }
        defer { mute.stop() }
        let handler = """
            content_by_lua_block {
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", \(mute.port)))
                local start = ngx.now()
                local data, err = sock:receive()
                ngx.print(err, " ", ngx.now() - start < 1.5 and "fast" or "slow")
            }
            """
        let server = try TestServer(
            server: """
                lua_socket_read_timeout 150ms;
                location /server { \(handler) }
                location /location { lua_socket_read_timeout 100ms; lua_socket_log_errors off; \(handler) }
                """,
            http: "lua_socket_read_timeout 3s;"
        )
        #expect(server.get("/server").body == "timeout fast")
        #expect(server.log.waitFor("[error] *", "lua tcp socket read timed out"))
        let logged = server.log.count(of: "lua tcp socket read timed out")
        #expect(server.get("/location").body == "timeout fast")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(server.log.count(of: "lua tcp socket read timed out") == logged)
    }

    @Test(arguments: [true, false])
    func luaSocketLogErrorsCoversRefusedConnects(on: Bool) throws {
        let refusing = RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let server = try TestServer(
            server: """
                location / {
                    content_by_lua_block {
                        local sock = ngx.socket.tcp()
                        ngx.print(select(2, sock:connect("127.0.0.1", \(refusing.port))))
                    }
                }
                """,
            http: "lua_socket_log_errors \(on ? "on" : "off");"
        )
        #expect(server.get("/").body == "connection refused")
        #expect(server.log.lines.contains { $0.contains("[error] *") && $0.contains("connect() failed (111: Connection refused)") } == on)
    }

    @Test func luaSocketConnectTimeoutAppliesToCosockets() throws {
        // A listener with a full backlog (never accepting): once the queue is full, further
        // connects stay pending. The fillers use their own short timeouts; the last socket has
        // only the directive's.
        let full = TestListener(backlog: 0, acceptConnections: false) { _ in }
        defer { full.stop() }
        let server = try TestServer(
            server: """
                location / {
                    content_by_lua_block {
                        local fillers = {}
                        for i = 1, 4 do
                            fillers[i] = ngx.socket.tcp()
                            fillers[i]:settimeout(50)
                            fillers[i]:connect("127.0.0.1", \(full.port))
                        end
                        local sock = ngx.socket.tcp()
                        local ok, err = sock:connect("127.0.0.1", \(full.port))
                        ngx.print(tostring(ok), " ", err)
                    }
                }
                """,
            http: "lua_socket_connect_timeout 100ms;"
        )
        #expect(server.get("/").body == "nil timeout")
    }

    @Test func luaSocketSendTimeoutAppliesToCosockets() throws {
        // A peer that never reads: a large send fills the buffers and times out.
        let mute = TestListener { fd in Peer.waitForClientClose(fd, milliseconds: 5000) }
        defer { mute.stop() }
        let server = try TestServer(
            server: """
                location / {
                    content_by_lua_block {
                        local sock = ngx.socket.tcp()
                        assert(sock:connect("127.0.0.1", \(mute.port)))
                        local big = string.rep("x", 1024 * 1024)
                        local ok, err
                        for i = 1, 64 do
                            ok, err = sock:send(big)
                            if not ok then break end
                        end
                        ngx.print(tostring(ok), " ", err)
                    }
                }
                """,
            http: "lua_socket_send_timeout 100ms;"
        )
        #expect(server.get("/").body == "nil timeout")
    }

    @Test func luaSocketPoolSizeKeepalivetimeoutAndBufferSize() throws {
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let server = try TestServer(
            server: """
                location = /pool {
                    content_by_lua_block {
                        local socks = {}
                        for i = 1, 5 do
                            socks[i] = ngx.socket.tcp()
                            assert(socks[i]:connect("127.0.0.1", \(echo.port)))
                        end
                        for i = 1, 5 do socks[i]:setkeepalive() end
                        local stats = require("cosocket.pool").stats("127.0.0.1:\(echo.port)")
                        ngx.print(stats.size, " ", stats.idle)
                    }
                }
                location = /expire {
                    content_by_lua_block {
                        local sock = ngx.socket.tcp()
                        assert(sock:connect("127.0.0.1", \(echo.port)))
                        sock:setkeepalive()
                        ngx.sleep(0.3)
                        local stats = require("cosocket.pool").stats("127.0.0.1:\(echo.port)")
                        ngx.print(stats.idle, " ", stats.closed_idle_timeout)
                    }
                }
                location = /buffer {
                    content_by_lua_block {
                        local sock = ngx.socket.tcp()
                        assert(sock:connect("127.0.0.1", \(echo.port)))
                        local payload = string.rep("b", 100000)
                        sock:send(payload)
                        local data = assert(sock:receive(#payload))
                        ngx.print(#data, " ", data == payload)
                    }
                }
                """,
            http: "lua_socket_pool_size 2; lua_socket_keepalive_timeout 100ms; lua_socket_buffer_size 1k;"
        )
        // Five connections offered to a pool of two: two stay idle.
        #expect(server.get("/pool").body == "2 2")
        // The idle pooled connections close after lua_socket_keepalive_timeout.
        #expect(server.get("/expire").body.hasPrefix("0 "))
        #expect(server.get("/expire").body != "0 0")
        // A small buffer still carries large reads.
        #expect(server.get("/buffer").body == "100000 true")
    }

    @Test func initByLuaAndInitWorkerByLuaSetGlobalsAndMayUseCosockets() throws {
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let server = try TestServer(
            server: "location / { content_by_lua_block { ngx.print(from_init, \" \", from_worker, \" \", echoed) } }",
            http: """
                init_by_lua_block { from_init = "init:" .. ngx.get_phase() }
                init_worker_by_lua_block {
                    from_worker = "worker:" .. ngx.get_phase()
                    -- A documented difference: cosockets work in the init phases.
                    local sock = ngx.socket.tcp()
                    assert(sock:connect("127.0.0.1", \(echo.port)))
                    sock:send("ping\\n")
                    echoed = sock:receive()
                    sock:close()
                }
                """
        )
        #expect(waitUntil { server.get("/").body == "init:init worker:init_worker ping" })
    }

    @Test func fileAndStringFormsOfHandlers() throws {
        let server = try TestServer(
            server: """
                location = /file {
                    rewrite_by_lua_file lua/rewrite.lua;
                    access_by_lua_file lua/access.lua;
                    content_by_lua_file lua/content.lua;
                    log_by_lua_file lua/log.lua;
                }
                location = /string {
                    rewrite_by_lua 'ngx.ctx.s = "r"';
                    access_by_lua 'ngx.ctx.s = ngx.ctx.s .. "a"';
                    content_by_lua 'ngx.print(ngx.ctx.s, "c")';
                    log_by_lua 'ngx.log(ngx.ERR, "string log ran")';
                }
                location = /error { content_by_lua_file lua/error.lua; }
                """,
            http: "init_by_lua_file lua/init.lua; init_worker_by_lua_file lua/worker.lua;",
            files: [
                "lua/init.lua": "init_file = 'i'\n",
                "lua/worker.lua": "worker_file = 'w'\n",
                "lua/rewrite.lua": "ngx.ctx.f = init_file .. worker_file .. 'r'\n",
                "lua/access.lua": "ngx.ctx.f = ngx.ctx.f .. 'a'\n",
                "lua/content.lua": "ngx.print(ngx.ctx.f, 'c')\n",
                "lua/log.lua": "ngx.log(ngx.ERR, 'file log ran')\n",
                "lua/error.lua": "\nerror('from a file')\n",
            ]
        )
        #expect(server.get("/file").body == "iwrac")
        #expect(server.log.waitFor("file log ran"))
        #expect(server.get("/string").body == "rac")
        #expect(server.log.waitFor("string log ran"))
        #expect(server.get("/error").status == 500)
        // A file chunk is named by its path in errors.
        #expect(server.log.waitFor("lua/error.lua:2: from a file"))
    }

    @Test func rewriteAccessAndLogHandlersAreInheritedHTTPToServerToLocation() throws {
        let server = try TestServer(
            server: """
                access_by_lua_block { ngx.ctx.trail = (ngx.ctx.trail or "") .. "server-access," }
                location = /inherits { content_by_lua_block { ngx.print(ngx.ctx.trail) } }
                location = /own {
                    rewrite_by_lua_block { ngx.ctx.trail = "own-rewrite," }
                    access_by_lua_block { ngx.ctx.trail = ngx.ctx.trail .. "own-access," }
                    log_by_lua_block { ngx.log(ngx.ERR, "own log for ", ngx.var.uri) }
                    content_by_lua_block { ngx.print(ngx.ctx.trail) }
                }
                location /outer {
                    rewrite_by_lua_block { ngx.ctx.trail = "outer-rewrite," }
                    location /outer/inner { content_by_lua_block { ngx.print(ngx.ctx.trail) } }
                }
                """,
            http: """
                rewrite_by_lua_block { ngx.ctx.trail = "http-rewrite," }
                log_by_lua_block { ngx.log(ngx.ERR, "http log for ", ngx.var.uri) }
                """
        )
        #expect(server.get("/inherits").body == "http-rewrite,server-access,")
        #expect(server.log.waitFor("http log for /inherits"))
        #expect(server.get("/own").body == "own-rewrite,own-access,")
        #expect(server.log.waitFor("own log for /own"))
        #expect(!server.log.contains("http log for /own"))
        // A nested location inherits from its enclosing location.
        #expect(server.get("/outer/inner").body == "outer-rewrite,server-access,")
    }

    @Test func includeOfAnotherFile() throws {
        let server = try TestServer(
            """
            worker_processes 1;
            events {}
            http {
                include included/*.conf;
                server {
                    listen 127.0.0.1:@PORT@;
                    include locations.conf;
                }
            }
            """,
            files: [
                "conf/included/types.conf": "default_type text/included;\n",
                "conf/locations.conf": "location = /inc { content_by_lua_block { ngx.print(\"included\") } }\n",
            ]
        )
        let response = server.get("/inc")
        #expect(response.body == "included")
        #expect(response.header("Content-Type") == "text/included")
    }

    @Test func unknownDirectiveIsAnErrorNamingFileAndLine() throws {
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        writeFile(prefix + "/conf/nginx.conf", "events {}\nhttp {\n  include more.conf;\n}\n")
        writeFile(prefix + "/conf/more.conf", "server {\n  listen 127.0.0.1:1;\n\n  frobnicate on;\n}\n")
        do {
            _ = try TestServer.load(prefix + "/conf/nginx.conf", prefix: prefix)
            Issue.record("an unknown directive was accepted")
        } catch {
            #expect("\(error)" == "unknown directive \"frobnicate\" in \(prefix)/conf/more.conf:4")
        }
    }

    @Test func ignoredDirectivesAreRecordedAndServingWorks() throws {
        let server = try TestServer(
            server: "gzip off; location / { access_log off; content_by_lua_block { ngx.print(\"fine\") } }",
            http: "sendfile on;\n    tcp_nopush on;"
        )
        #expect(server.configuration.ignored.map(\.name) == ["sendfile", "tcp_nopush", "gzip", "access_log"])
        #expect(server.configuration.ignored.allSatisfy { $0.position.hasPrefix(server.prefix + "/conf/nginx.conf:") })
        #expect(server.get("/").body == "fine")
    }
}
