import CosocketTestSupport
import Foundation
import Testing

/// `ngx.status`, `ngx.header`, output, streaming, `ngx.exit`/`redirect`/`on_abort`, through HTTP.
@Suite struct ResponseAPITests {
    @Test func statusAndHeaders() throws {
        let server = try TestServer(server: """
            location = /h {
                content_by_lua_block {
                    ngx.status = ngx.HTTP_ACCEPTED
                    ngx.header["X-Multi"] = { "one", "two" }
                    ngx.header["X-Removed"] = "soon"
                    ngx.header["X-Removed"] = nil
                    ngx.header.content_type = "application/x-test"
                    ngx.header.x_underscored = "dash"
                    ngx.print(ngx.header["X-Multi"][2], " ", tostring(ngx.header["X-Removed"]), " ", ngx.status)
                }
            }
            """)
        let response = server.get("/h")
        #expect(response.status == 202)
        #expect(response.headers("X-Multi") == ["one", "two"])
        #expect(response.header("X-Removed") == nil)
        #expect(response.headers("Content-Type") == ["application/x-test"])
        #expect(response.header("X-Underscored") == "dash")
        #expect(response.body == "two nil 202")
    }

    @Test func httpConstants() throws {
        let server = try TestServer(server: """
            location = /c {
                content_by_lua_block {
                    ngx.print(ngx.HTTP_OK, ngx.HTTP_CREATED, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_MOVED_TEMPORARILY,
                              ngx.HTTP_NOT_FOUND, ngx.HTTP_FORBIDDEN, ngx.HTTP_INTERNAL_SERVER_ERROR,
                              ngx.HTTP_SERVICE_UNAVAILABLE, ngx.HTTP_GET, ngx.HTTP_POST, ngx.OK, ngx.ERROR)
                }
            }
            """)
        #expect(server.get("/c").body == "200201301302404403500503280-1")
    }

    @Test func sayAndPrintWithNestedArraysAndNumbers() throws {
        let server = try TestServer(server: """
            location = /out {
                content_by_lua_block {
                    ngx.say({ "a", { "b", { "c" } }, 1, 2.5 })
                    ngx.print(42, " ", true, " ", nil, " ", ngx.null)
                    ngx.say()
                }
            }
            """)
        #expect(server.get("/out").body == "abc12.5\n42 true nil null\n")
    }

    @Test func sendHeadersAndHeadersSent() throws {
        let server = try TestServer(server: """
            location = /sh {
                content_by_lua_block {
                    local before = ngx.headers_sent
                    ngx.status = 203
                    ngx.send_headers()
                    ngx.say(tostring(before), " ", tostring(ngx.headers_sent))
                    ngx.header["X-Late"] = "ignored"
                }
            }
            """)
        let response = server.get("/sh")
        #expect(response.status == 203)
        #expect(response.header("Transfer-Encoding") == "chunked")
        #expect(response.body == "false true\n")
        #expect(response.header("X-Late") == nil)
    }

    @Test func flushStreamsChunkedOnHTTP11AndUntilCloseOnHTTP10() throws {
        let server = try TestServer(server: """
            location = /stream {
                content_by_lua_block {
                    for i = 1, 3 do
                        ngx.say("part ", i)
                        ngx.flush(true)
                    end
                }
            }
            """)
        let chunked = server.get("/stream")
        #expect(chunked.status == 200)
        #expect(chunked.header("Content-Length") == nil)
        #expect(chunked.chunks == ["part 1\n", "part 2\n", "part 3\n"])
        let old = server.get("/stream", version: "1.0")
        #expect(old.status == 200)
        #expect(old.header("Transfer-Encoding") == nil)
        #expect(old.untilClose)
        #expect(old.body == "part 1\npart 2\npart 3\n")
    }

    @Test func streamedChunksArriveBeforeTheHandlerEnds() throws {
        // The handler waits for a line from this listener, which the test releases only once
        // the first chunk has arrived: without streaming, the first chunk never comes alone.
        let release = DispatchSemaphore(value: 0)
        let gate = TestListener { fd in
            _ = release.wait(timeout: .now() + 10)
            Peer.send(fd, "go\n")
        }
        defer { gate.stop() }
        let server = try TestServer(server: """
            location = /slow {
                content_by_lua_block {
                    ngx.say("first")
                    ngx.flush()  -- not flush(true): see flushThenConnectReturnsConnectsValues
                    local sock = ngx.socket.tcp()
                    sock:settimeout(10000)
                    assert(sock:connect("127.0.0.1", \(gate.port)))
                    ngx.say("second ", sock:receive())
                }
            }
            """)
        let client = HTTPClient(port: server.port, timeoutSeconds: 5)
        defer { client.close() }
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let text = client.readUntil("first\n\r\n")
        #expect(text.contains("6\r\nfirst\n\r\n"))
        #expect(!text.contains("second"))
        release.signal()
        #expect(client.readAll().contains("second go\n"), "\(server.log.lines)")
    }

    @Test
    func flushThenConnectReturnsConnectsValues() throws {
        let echo = TestListener { Peer.echo($0) }
        defer { echo.stop() }
        let server = try TestServer(server: """
            location = /f {
                content_by_lua_block {
                    ngx.say("first")
                    ngx.flush(true)
                    local sock = ngx.socket.tcp()
                    local ok, err = sock:connect("127.0.0.1", \(echo.port))
                    ngx.say(tostring(ok), " ", tostring(err))
                }
            }
            """)
        #expect(server.get("/f").body == "first\n1 nil\n")
    }

    @Test func eofThenSayAndExitAfterHeaders() throws {
        let server = try TestServer(server: """
            location = /eof {
                content_by_lua_block {
                    ngx.say("done")
                    local ok = ngx.eof()
                    local r, err = ngx.say("more")
                    ngx.log(ngx.ERR, "after eof: ", tostring(ok), " ", tostring(r), " ", err)
                }
            }
            location = /exit-after {
                content_by_lua_block {
                    ngx.say("streamed")
                    ngx.flush(true)
                    ngx.exit(ngx.HTTP_OK)
                }
            }
            location = /exit-status-after {
                content_by_lua_block {
                    ngx.send_headers()
                    ngx.exit(404)
                }
            }
            """)
        #expect(server.get("/eof").body == "done\n")
        #expect(server.log.waitFor("after eof: 1 nil seen eof"))
        let exited = server.get("/exit-after")
        #expect(exited.status == 200)
        #expect(exited.chunks == ["streamed\n"])
        let late = server.get("/exit-status-after")
        #expect(late.status == 200)
        #expect(server.log.waitFor("attempt to set status 404 via ngx.exit after sending out the response status 200"))
    }

    @Test func redirects() throws {
        let server = try TestServer(server: """
            location = /r302 { content_by_lua_block { ngx.redirect("/target") } }
            location = /r301 { content_by_lua_block { ngx.redirect("http://example.test/", ngx.HTTP_MOVED_PERMANENTLY) } }
            location = /r307 { content_by_lua_block { return ngx.redirect("/t?x=1", 307) } }
            """)
        let found = server.get("/r302")
        #expect(found.status == 302)
        #expect(found.header("Location") == "/target")
        #expect(found.body.contains("302 Found"))
        #expect(server.get("/r301").status == 301)
        #expect(server.get("/r301").header("Location") == "http://example.test/")
        #expect(server.get("/r307").header("Location") == "/t?x=1")
    }

    @Test func onAbortWithoutCheckClientAbort() throws {
        let server = try TestServer(server: """
            location = /unchecked { content_by_lua_block { ngx.say(ngx.on_abort(function() end)) } }
            location = /checked { lua_check_client_abort on; content_by_lua_block { ngx.say(ngx.on_abort(function() end)) } }
            """)
        #expect(server.get("/unchecked").body == "nillua_check_client_abort is off\n")
        #expect(server.get("/checked").body == "1\n")
    }

    @Test func headRequestsGetNoBody() throws {
        let server = try TestServer(server: """
            location = /plain { content_by_lua_block { ngx.say("body text") } }
            location = /streamed { content_by_lua_block { ngx.say("a") ngx.flush(true) ngx.say("b") } }
            """)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("HEAD /plain HTTP/1.1\r\nHost: t\r\n\r\nHEAD /streamed HTTP/1.1\r\nHost: t\r\n\r\nGET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        let plain = client.readResponse(headRequest: true)
        #expect(plain?.status == 200)
        // Lua output on HEAD: no length, as the reference (HeadResponseTests).
        #expect(plain?.header("Content-Length") == nil)
        let streamed = client.readResponse(headRequest: true)
        #expect(streamed?.status == 200)
        // Had a body been sent for either HEAD, this third response would not parse.
        let get = client.readResponse()
        #expect(get?.status == 200)
        #expect(get?.body == "body text\n")
    }

    @Test
    func onAbortRunsWhenTheClientGoesAway() throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let server = try TestServer(server: """
            location = /abortable {
                lua_check_client_abort on;
                content_by_lua_block {
                    local ok, err = ngx.on_abort(function()
                        ngx.log(ngx.ERR, "abort handler runs")
                        local sock = ngx.socket.tcp()
                        assert(sock:connect("127.0.0.1", \(redis.port)))
                        sock:send("SET aborted yes\\r\\n")
                        sock:receive()
                        sock:close()
                        ngx.exit(499)
                    end)
                    ngx.say("registered ", tostring(ok))
                    ngx.flush(true)
                    ngx.sleep(5)
                    ngx.say("not reached")
                }
            }
            """)
        let client = HTTPClient(port: server.port)
        client.send("GET /abortable HTTP/1.1\r\nHost: t\r\n\r\n")
        // The stream never ends: read up to the first chunk, then go away.
        #expect(client.readUntil("registered 1").contains("registered 1"))
        client.reset()
        let inspector = redis.inspector()
        #expect(waitUntil { inspector.query("GET aborted\r\n", until: "\r\n").contains("yes") }, "\(server.log.lines)")
    }
}
