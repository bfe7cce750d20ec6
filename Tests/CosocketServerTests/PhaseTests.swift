import CosocketTestSupport
import Foundation
import Testing

/// rewrite → access → content → log, through HTTP.
@Suite struct PhaseTests {
    @Test func phasesRunInOrderAndReportThemselves() throws {
        let server = try TestServer(server: """
            location = /order {
                rewrite_by_lua_block { ngx.ctx.seen = { ngx.get_phase() } }
                access_by_lua_block { table.insert(ngx.ctx.seen, ngx.get_phase()) }
                content_by_lua_block { table.insert(ngx.ctx.seen, ngx.get_phase()) ngx.print(table.concat(ngx.ctx.seen, ",")) }
                log_by_lua_block { ngx.log(ngx.ERR, "log phase: ", ngx.get_phase(), " after ", table.concat(ngx.ctx.seen, ",")) }
            }
            """)
        #expect(server.get("/order").body == "rewrite,access,content")
        #expect(server.log.waitFor("log phase: log after rewrite,access,content"))
    }

    @Test func exitOKInRewriteContinuesAndExitInAccessSkipsContent() throws {
        let server = try TestServer(server: """
            location = /ok {
                rewrite_by_lua_block { ngx.ctx.r = true ngx.exit(ngx.OK) ngx.ctx.after = true }
                access_by_lua_block { ngx.ctx.a = true }
                content_by_lua_block { ngx.print(ngx.ctx.r, " ", ngx.ctx.a, " ", ngx.ctx.after) }
            }
            location = /deny {
                access_by_lua_block { ngx.exit(ngx.HTTP_FORBIDDEN) }
                content_by_lua_block { ngx.log(ngx.ERR, "content must not run") ngx.print("content") }
                log_by_lua_block { ngx.log(ngx.ERR, "denied with status ", ngx.status) }
            }
            location = /early {
                rewrite_by_lua_block { ngx.say("from rewrite") ngx.exit(ngx.HTTP_OK) }
                content_by_lua_block { ngx.say("content must not run") }
            }
            location = /done {
                content_by_lua_block { ngx.say("before") ngx.exit(200) ngx.say("after") }
            }
            """)
        #expect(server.get("/ok").body == "true true nil")
        let denied = server.get("/deny")
        #expect(denied.status == 403)
        #expect(denied.body.contains("403 Forbidden"))
        #expect(server.log.waitFor("denied with status 403"))
        #expect(!server.log.contains("content must not run"))
        #expect(server.get("/early").body == "from rewrite\n")
        let done = server.get("/done")
        #expect(done.status == 200)
        #expect(done.body == "before\n")
    }

    @Test func logPhaseRunsAfterTheResponseAndMayUseCosockets() throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let server = try TestServer(server: """
            location = /logged {
                content_by_lua_block { ngx.print("answered") }
                log_by_lua_block {
                    local sock = ngx.socket.tcp()
                    assert(sock:connect("127.0.0.1", \(redis.port)))
                    local value = ngx.var.uri .. ":" .. ngx.status
                    sock:send("SET logged " .. value .. "\\r\\n")
                    sock:receive()
                    sock:close()
                }
            }
            """)
        #expect(server.get("/logged").body == "answered")
        let inspector = redis.inspector()
        #expect(waitUntil { inspector.query("GET logged\r\n", until: "\r\n").contains("/logged:200") })
    }

    @Test func luaErrorGives500AndTracebackInErrorLog() throws {
        let server = try TestServer(server: """
            location = /boom {
                content_by_lua_block {
                    local function inner() error("kaboom") end
                    inner()
                }
            }
            location = /rewrite-boom { rewrite_by_lua_block { local x = nil; x.y = 1 } content_by_lua_block { ngx.say("no") } }
            location = /late { content_by_lua_block { ngx.say("partial") ngx.flush(true) error("too late") } }
            """)
        let response = server.get("/boom")
        #expect(response.status == 500)
        #expect(response.body.contains("500 Internal Server Error"))
        #expect(server.log.waitFor("kaboom"))
        #expect(server.log.lines.contains { $0.contains("kaboom") && $0.contains("stack traceback:") && $0.contains("in function 'inner'") })
        #expect(server.get("/rewrite-boom").status == 500)
        #expect(server.log.waitFor("attempt to index local 'x'"))
        // After the headers went out, the connection closes instead: the chunked body never ends.
        let late = server.get("/late")
        #expect(late.status == -200)
        #expect(late.body == "partial\n")
        #expect(server.log.waitFor("too late"))
    }

    @Test func lightThreadsSleepAndCosocketsInEachPhase() throws {
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let work = """
            local function roundtrip(word)
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", \(echo.port)))
                sock:send(word .. "\\n")
                local line = sock:receive()
                sock:setkeepalive()
                return line
            end
            ngx.sleep(0.01)
            local a = ngx.thread.spawn(roundtrip, ngx.get_phase() .. "1")
            local b = ngx.thread.spawn(roundtrip, ngx.get_phase() .. "2")
            local _, ra = ngx.thread.wait(a)
            local _, rb = ngx.thread.wait(b)
            ngx.ctx.trail = (ngx.ctx.trail or "") .. ra .. "+" .. rb .. ";"
            """
        let server = try TestServer(server: """
            location = /threads {
                rewrite_by_lua_block { \(work) }
                access_by_lua_block { \(work) }
                content_by_lua_block { \(work) ngx.print(ngx.ctx.trail) }
            }
            """)
        #expect(server.get("/threads").body == "rewrite1+rewrite2;access1+access2;content1+content2;")
    }

    @Test func timersFromAHandlerRunAfterTheRequest() throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let server = try TestServer(server: """
            location = /timer {
                content_by_lua_block {
                    local ok, err = ngx.timer.at(0.05, function(premature, value)
                        local sock = ngx.socket.tcp()
                        assert(sock:connect("127.0.0.1", \(redis.port)))
                        sock:send("SET fromtimer " .. value .. "\\r\\n")
                        sock:receive()
                        sock:close()
                    end, ngx.var.arg_v)
                    ngx.print(ok)
                }
            }
            """)
        #expect(server.get("/timer?v=tick42").body == "1")
        let inspector = redis.inspector()
        #expect(waitUntil { inspector.query("GET fromtimer\r\n", until: "\r\n").contains("tick42") })
    }

    @Test func ctxIsPerRequestAcrossPhasesAndNotShared() throws {
        let server = try TestServer(server: """
            location = /ctx {
                access_by_lua_block { ngx.ctx.mine = ngx.var.arg_n; ngx.ctx.count = (ngx.ctx.count or 0) + 1 }
                content_by_lua_block { ngx.print(ngx.ctx.mine, " ", ngx.ctx.count) }
                log_by_lua_block { ngx.log(ngx.ERR, "log ctx ", ngx.ctx.mine) }
            }
            """)
        // On one keep-alive connection and on separate ones, each request starts with a fresh ctx.
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("GET /ctx?n=1 HTTP/1.1\r\nHost: t\r\n\r\nGET /ctx?n=2 HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(client.readResponse()?.body == "1 1")
        #expect(client.readResponse()?.body == "2 1")
        #expect(server.get("/ctx?n=3").body == "3 1")
        #expect(server.log.waitFor("log ctx 3"))
    }
}
