import CosocketTestSupport
import Foundation
import Testing

/// header_filter_by_lua*, body_filter_by_lua* and set_by_lua* through real requests; the
/// expected responses are the reference's (checked with ref-nginx on the same locations).
@Suite struct FilterPhaseTests {
    @Test func headerFilterChangesHeadersAndStatusOfEveryResponse() throws {
        let server = try TestServer(server: """
            header_filter_by_lua_block { ngx.header["X-Server-Level"] = ngx.get_phase() }
            location = /h {
                header_filter_by_lua_block {
                    ngx.header["X-Added"] = "1"
                    ngx.header["X-Changed"] = "new"
                    ngx.header["X-Cleared"] = nil
                    ngx.header["X-Phase"] = ngx.get_phase()
                    ngx.header["X-Ctx"] = ngx.ctx.from_content
                    ngx.status = 201
                }
                content_by_lua_block {
                    ngx.ctx.from_content = "shared"
                    ngx.header["X-Changed"] = "old"
                    ngx.header["X-Cleared"] = "gone"
                    ngx.say("hi")
                }
            }
            location = /inherited { content_by_lua_block { ngx.say("plain") } }
            location = /missing { content_by_lua_block { ngx.exit(404) } }
            location = /returned { return 403; }
            location = /file { header_filter_by_lua_file conf/filter.lua; return 200 "x"; }
            location = /string { header_filter_by_lua 'ngx.header["X-String"] = "yes"'; return 200 "x"; }
            """, files: ["conf/filter.lua": "ngx.header['X-File'] = 'yes'"])
        let response = server.get("/h")
        #expect(response.status == 201)
        #expect(response.header("X-Added") == "1")
        #expect(response.header("X-Changed") == "new")
        #expect(response.header("X-Cleared") == nil)
        #expect(response.header("X-Phase") == "header_filter")
        #expect(response.header("X-Ctx") == "shared")
        // Overridden at location level: the server's filter does not run there.
        #expect(response.header("X-Server-Level") == nil)
        #expect(response.body == "hi\n")
        #expect(server.get("/inherited").header("X-Server-Level") == "header_filter")
        let missing = server.get("/missing")
        #expect(missing.status == 404)
        #expect(missing.header("X-Server-Level") == "header_filter")
        #expect(missing.body.contains("404 Not Found"))
        #expect(server.get("/returned").header("X-Server-Level") == "header_filter")
        #expect(server.get("/file").header("X-File") == "yes")
        #expect(server.get("/string").header("X-String") == "yes")
    }

    @Test func bodyFilterSeesEachChunkAndRewritesTheBody() throws {
        let server = try TestServer(server: """
            location = /upper {
                body_filter_by_lua_block { ngx.arg[1] = string.upper(ngx.arg[1]) }
                content_by_lua_block { ngx.say("hi") ngx.say("there") }
            }
            location = /chunks {
                body_filter_by_lua_block {
                    ngx.arg[1] = ngx.arg[1] .. "|" .. tostring(ngx.arg[2]) .. "|" .. ngx.get_phase() .. "\\n"
                }
                content_by_lua_block { ngx.print("a") ngx.flush() ngx.print("b") }
            }
            location = /truncated {
                body_filter_by_lua_block { ngx.arg[1] = "only"; ngx.arg[2] = true }
                content_by_lua_block { ngx.say("a") ngx.flush() ngx.say("b") }
            }
            location = /dropped {
                body_filter_by_lua_block { if not ngx.arg[2] then ngx.arg[1] = "" else ngx.arg[1] = "end" end }
                content_by_lua_block { ngx.say("secret") }
            }
            location = /table { body_filter_by_lua_block { ngx.arg[1] = {"a", "b"} } content_by_lua_block { ngx.say("hi") } }
            location = /number { body_filter_by_lua_block { ngx.arg[1] = 12 } content_by_lua_block { ngx.say("hi") } }
            location = /nil { body_filter_by_lua_block { ngx.arg[1] = nil } content_by_lua_block { ngx.say("hi") } }
            location = /page {
                header_filter_by_lua_block { ngx.header["X-Status"] = ngx.status }
                body_filter_by_lua_block { ngx.arg[1] = ngx.arg[1]:upper() }
                content_by_lua_block { ngx.exit(404) }
            }
            location = /returned { body_filter_by_lua_block { ngx.arg[1] = ngx.arg[1]:upper() } return 200 "text"; }
            """)
        let upper = server.get("/upper")
        #expect(upper.body == "HI\nTHERE\n")
        // The body's length is not known ahead: it goes chunked, as nginx sends it.
        #expect(upper.header("Content-Length") == nil)
        #expect(upper.header("Transfer-Encoding") == "chunked")
        #expect(server.get("/chunks").body == "a|false|body_filter\n|false|body_filter\nb|false|body_filter\n|true|body_filter\n")
        #expect(server.get("/truncated").body == "only")
        #expect(server.get("/dropped").body == "end")
        #expect(server.get("/table").body == "abab")
        #expect(server.get("/number").body == "1212")
        #expect(server.get("/nil").body == "")
        let page = server.get("/page")
        #expect(page.status == 404)
        #expect(page.header("X-Status") == "404")
        #expect(page.body.contains("<TITLE>404 NOT FOUND</TITLE>"))
        #expect(page.header("Content-Length") == String(page.body.utf8.count))
        #expect(server.get("/returned").body == "TEXT")
        // HTTP/1.0: until close.
        let old = server.get("/upper", version: "1.0")
        #expect(old.body == "HI\nTHERE\n")
        #expect(old.untilClose)
    }

    @Test func headRequestsGetTheFilteredHeadOnly() throws {
        let server = try TestServer(server: """
            location = /head {
                header_filter_by_lua_block { ngx.header["X-Method"] = ngx.req.get_method() }
                body_filter_by_lua_block { ngx.arg[1] = ngx.arg[1]:upper() }
                content_by_lua_block { ngx.say("body") }
            }
            """)
        let raw = server.exchange("HEAD /head HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(raw.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(raw.contains("X-Method: HEAD\r\n"))
        #expect(!raw.contains("BODY"))
    }

    @Test func badChunksAndErrorsCutTheResponseAndTheWorkerGoesOn() throws {
        let server = try TestServer(server: """
            location = /bool { body_filter_by_lua_block { ngx.arg[1] = true } content_by_lua_block { ngx.say("hi") } }
            location = /index { body_filter_by_lua_block { ngx.arg[3] = 1 } content_by_lua_block { ngx.say("hi") } }
            location = /header-error { header_filter_by_lua_block { error("hboom") } content_by_lua_block { ngx.say("hi") } }
            location = /body-error { body_filter_by_lua_block { error("bboom") } content_by_lua_block { ngx.say("hi") } }
            location = /say { header_filter_by_lua_block { ngx.say("x") } content_by_lua_block { ngx.say("hi") } }
            location = /fine { content_by_lua_block { ngx.say("fine") } }
            """)
        for path in ["/bool", "/index", "/header-error", "/body-error", "/say"] {
            let response = server.get(path)
            #expect(response.status == 0, "\(path) must be cut")
        }
        #expect(server.log.waitFor("failed to run body_filter_by_lua*: body_filter_by_lua(nginx.conf:"))
        #expect(server.log.contains("bad chunk data type: boolean"))
        #expect(server.log.contains("bad index: 3"))
        #expect(server.log.contains("failed to run header_filter_by_lua*: header_filter_by_lua(nginx.conf:"))
        #expect(server.log.contains("hboom"))
        #expect(server.log.contains("bboom"))
        #expect(server.log.contains("API disabled in the context of header_filter_by_lua*"))
        #expect(server.get("/fine").body == "fine\n")
    }

    @Test func setByLuaFeedsVariablesForReturnAndLua() throws {
        let server = try TestServer(server: """
            location = /set {
                set $base "b";
                set_by_lua_block $v { return ngx.var.uri .. "!" .. ngx.var.base }
                set_by_lua $w 'return ngx.arg[1] + ngx.arg[2]' 3 4;
                set $both "$v-$w";
                return 200 "$v $w ${both}";
            }
            location = /lua {
                set_by_lua_block $phase { return ngx.get_phase() }
                set_by_lua_file $from_file conf/set.lua $arg_x;
                set_by_lua_block $none { return nil }
                content_by_lua_block { ngx.say(ngx.var.phase, " ", ngx.var.from_file, " [", ngx.var.none, "]") }
            }
            location = /sleep { set_by_lua_block $v { ngx.sleep(1) return 1 } content_by_lua_block { ngx.say(ngx.var.v) } }
            location = /error { set_by_lua_block $v { error("sboom") } content_by_lua_block { ngx.say(ngx.var.v) } }
            """, files: ["conf/set.lua": "return 'file:' .. ngx.arg[1]"])
        #expect(server.get("/set").body == "/set!b 7 /set!b-7")
        #expect(server.get("/lua?x=42").body == "set file:42 []\n")
        #expect(server.get("/sleep").status == 500)
        #expect(server.log.waitFor("failed to run set_by_lua*: set_by_lua(nginx.conf:"))
        #expect(server.log.contains("API disabled in the context of set_by_lua*"))
        #expect(server.get("/error").status == 500)
        #expect(server.log.waitFor("sboom"))
    }

    /// `ngx.exit` and `ngx.redirect` where the reference refuses them (checked with ref-nginx):
    /// the set, body filter and log phases; `ngx.redirect` also in the header filter. A failing
    /// log phase is logged in the reference's words, " while logging request" included.
    @Test func exitAndRedirectAreRefusedWhereTheReferenceRefusesThem() throws {
        let server = try TestServer(server: """
            location = /set-exit { set_by_lua_block $v { ngx.exit(0) } return 200 "[$v]"; }
            location = /set-redirect { set_by_lua_block $v { ngx.redirect("/x") } return 200 "[$v]"; }
            location = /bf { content_by_lua_block { ngx.say("hi") } body_filter_by_lua_block { ngx.exit(0) } }
            location = /hf { content_by_lua_block { ngx.say("hi") } header_filter_by_lua_block { ngx.redirect("/x") } }
            location = /log { content_by_lua_block { ngx.say("hi") } log_by_lua_block { ngx.exit(0) } }
            """)
        #expect(server.get("/set-exit").status == 500)
        #expect(server.get("/set-redirect").status == 500)
        #expect(server.log.waitFor("failed to run set_by_lua*: set_by_lua(nginx.conf:"))
        #expect(server.log.count(of: "API disabled in the context of set_by_lua*") == 2)
        _ = server.get("/bf")
        #expect(server.log.waitFor("failed to run body_filter_by_lua*: body_filter_by_lua(nginx.conf:"))
        #expect(server.log.contains("API disabled in the context of body_filter_by_lua*"))
        _ = server.get("/hf")
        #expect(server.log.waitFor("API disabled in the context of header_filter_by_lua*"))
        #expect(server.get("/log").body == "hi\n")
        #expect(server.log.waitFor("failed to run log_by_lua*: log_by_lua(nginx.conf:"))
        #expect(server.log.contains("API disabled in the context of log_by_lua*"))
        #expect(server.log.contains(" while logging request, client: 127.0.0.1"))
    }

    @Test func lua_filter_yieldOffRefusesWaitingWithTheReferenceError() throws {
        let server = try TestServer(server: """
            lua_filter_yield off;
            location = /sleep { header_filter_by_lua_block { ngx.sleep(0.1) } content_by_lua_block { ngx.say("hi") } }
            location = /socket { header_filter_by_lua_block { ngx.socket.tcp() } content_by_lua_block { ngx.say("hi") } }
            location = /thread { body_filter_by_lua_block { ngx.thread.spawn(function() end) } content_by_lua_block { ngx.say("hi") } }
            location = /pcall {
                header_filter_by_lua_block { local ok, err = pcall(ngx.sleep, 0.1) ngx.header["X-Err"] = err }
                content_by_lua_block { ngx.say("hi") }
            }
            """)
        #expect(server.get("/sleep").status == 0)
        #expect(server.log.waitFor("API disabled in the context of header_filter_by_lua*"))
        #expect(server.get("/socket").status == 0)
        #expect(server.get("/thread").status == 0)
        #expect(server.log.waitFor("API disabled in the context of body_filter_by_lua*"))
        let caught = server.get("/pcall")
        #expect(caught.body == "hi\n")
        #expect(caught.header("X-Err")?.hasSuffix("API disabled in the context of header_filter_by_lua*") == true)
    }

    @Test func filtersMayWaitOnCosocketsSleepAndThreads() throws {
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let inspector = redis.inspector()
        _ = inspector.query("SET token secret42\r\n", until: "\r\n")
        let server = try TestServer(server: """
            location = /redis {
                header_filter_by_lua_block {
                    local sock = ngx.socket.tcp()
                    assert(sock:connect("127.0.0.1", \(redis.port)))
                    sock:send("GET token\\r\\n")
                    sock:receive()
                    ngx.header["X-Token"] = sock:receive()
                    sock:setkeepalive()
                }
                content_by_lua_block { ngx.say("body") }
            }
            location = /sleepy {
                header_filter_by_lua_block { ngx.sleep(0.01) ngx.header["X-Slept"] = "yes" }
                body_filter_by_lua_block {
                    local t = ngx.thread.spawn(function(chunk) ngx.sleep(0.001) return chunk:upper() end, ngx.arg[1])
                    local _, upper = ngx.thread.wait(t)
                    ngx.arg[1] = upper
                }
                content_by_lua_block { ngx.say("a") ngx.flush(true) ngx.say("b") }
            }
            location = /timer {
                header_filter_by_lua_block { ngx.header["X-Timer"] = tostring(ngx.timer.at(0, function() end)) }
                content_by_lua_block { ngx.say("t") }
            }
            location = /late-error {
                body_filter_by_lua_block { ngx.sleep(0.001) if ngx.arg[2] then error("late bboom") end }
                content_by_lua_block { ngx.say("partial") ngx.flush(true) }
            }
            """)
        let response = server.get("/redis")
        #expect(response.header("X-Token") == "secret42")
        #expect(response.body == "body\n")
        let sleepy = server.get("/sleepy")
        #expect(sleepy.header("X-Slept") == "yes")
        #expect(sleepy.body == "A\nB\n")
        #expect(server.get("/timer").header("X-Timer") == "1")
        // Cut after the first chunk went out: the chunked body never ends.
        let late = server.get("/late-error")
        #expect(late.status == -200)
        #expect(late.body == "partial\n")
        #expect(server.log.waitFor("failed to run body_filter_by_lua*: body_filter_by_lua(nginx.conf:"))
        #expect(server.log.contains("late bboom"))
        // Many at once on one worker: each waits in its own filter while the others go on.
        let group = DispatchGroup()
        let results = ResultBox()
        for index in 0..<200 {
            DispatchQueue.global().async(group: group) {
                let answer = server.get("/redis?n=\(index)")
                results.add(answer.header("X-Token") == "secret42" && answer.body == "body\n")
            }
        }
        group.wait()
        #expect(results.count == 200)
    }
}

extension FilterPhaseTests {
    /// A body filter that logs each chunk to a real memcached (`append` to one key per
    /// request, over a pooled connection) before passing it on: the client gets the body,
    /// memcached holds the same bytes, for 50 concurrent requests on one worker.
    @Test func bodyFilterSendsEachChunkToMemcachedBeforePassingItOn() throws {
        let memcached = try ExternalServer(.memcached)
        defer { memcached.stop() }
        let server = try TestServer(server: """
            location = /logged {
                body_filter_by_lua_block {
                    local chunk = ngx.arg[1]
                    if chunk == "" then return end
                    local sock = ngx.socket.tcp()
                    assert(sock:connect("127.0.0.1", \(memcached.port)))
                    local key = "body:" .. ngx.var.arg_n
                    local verb = ngx.ctx.started and "append" or "set"
                    ngx.ctx.started = true
                    assert(sock:send(verb .. " " .. key .. " 0 0 " .. #chunk .. "\\r\\n" .. chunk .. "\\r\\n"))
                    local answer = assert(sock:receive())
                    sock:setkeepalive()
                    if answer ~= "STORED" then error("memcached said " .. answer) end
                }
                content_by_lua_block {
                    for i = 1, 5 do ngx.print("part", i, "-", string.rep("x", i * 100), ";") ngx.flush(true) end
                }
            }
            """)
        let expected = (1...5).map { "part\($0)-" + String(repeating: "x", count: $0 * 100) + ";" }.joined()
        let group = DispatchGroup()
        let results = ResultBox()
        for index in 0..<50 {
            DispatchQueue.global().async(group: group) {
                let answer = server.get("/logged?n=\(index)")
                results.add(answer.status == 200 && answer.body == expected)
            }
        }
        group.wait()
        #expect(results.count == 50, "\(server.log.lines)")
        let inspector = memcached.inspector()
        for index in [0, 17, 49] {
            let stored = inspector.query("get body:\(index)\r\n", until: "END\r\n")
            #expect(stored == "VALUE body:\(index) 0 \(expected.utf8.count)\r\n\(expected)\r\nEND\r\n")
        }
    }

    /// Writing `ngx.arg` outside the body filter fails as the reference's `param_set` fails
    /// it (the answer below is Debian's nginx's for the same configuration).
    @Test func ngxArgIsWritableInTheBodyFilterOnly() throws {
        let server = try TestServer(server: """
            location = /t {
                set_by_lua_block $x { local ok, e = pcall(function() ngx.arg[1] = "y" end) return tostring(e) }
                content_by_lua_block { ngx.say(ngx.var.x) local ok, e = pcall(function() ngx.arg[1] = "y" end) ngx.say(e) }
            }
            """)
        #expect(server.get("/t").body == """
            set_by_lua(nginx.conf:8):1: API disabled in the context of set_by_lua*
            content_by_lua(nginx.conf:9):1: API disabled in the context of content_by_lua*

            """)
    }

    @Test func aClientLeavingWhileAFilterWaitsEndsTheRequestAndTheWorkerGoesOn() throws {
        let server = try TestServer(server: """
            location = /slow {
                header_filter_by_lua_block { ngx.sleep(0.3) ngx.log(ngx.ERR, "filter resumed for ", ngx.var.uri) }
                content_by_lua_block { ngx.say("slow") }
                log_by_lua_block { ngx.log(ngx.ERR, "logged ", ngx.var.uri) }
            }
            location = /fast { content_by_lua_block { ngx.say("fast") } }
            location = /ctx {
                content_by_lua_block { ngx.ctx.trail = "content" ngx.say("ctx") }
                header_filter_by_lua_block { ngx.sleep(0.01) ngx.ctx.trail = ngx.ctx.trail .. ",header" }
                body_filter_by_lua_block { ngx.sleep(0.001) if ngx.arg[2] then ngx.ctx.trail = ngx.ctx.trail .. ",body" end }
                log_by_lua_block { ngx.log(ngx.ERR, "trail ", ngx.ctx.trail) }
            }
            """)
        #expect(server.get("/ctx").body == "ctx\n")
        #expect(server.log.waitFor("trail content,header,body"))
        let client = HTTPClient(port: server.port)
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        client.close()
        // The worker serves others while the filter waits.
        #expect(server.get("/fast").body == "fast\n")
        #expect(!server.log.contains("filter resumed"))
        #expect(server.log.waitFor("filter resumed for /slow"))
        #expect(server.log.waitFor("logged /slow"))
        #expect(server.get("/slow").body == "slow\n")
    }
}

extension FilterPhaseTests {
    @Test(arguments: [false, true]) func chunksFromOneByteToOneMiBPassThrough(yielding: Bool) throws {
        let server = try TestServer(server: """
            lua_filter_yield \(yielding ? "on" : "off");
            location = /sizes {
                body_filter_by_lua_block {
                    ngx.ctx.calls = (ngx.ctx.calls or 0) + 1
                    ngx.ctx.bytes = (ngx.ctx.bytes or 0) + #ngx.arg[1]
                    if ngx.arg[2] then ngx.arg[1] = "|" .. ngx.ctx.calls .. ":" .. ngx.ctx.bytes end
                }
                content_by_lua_block {
                    ngx.print("a")
                    ngx.print(string.rep("b", 1024 * 1024))
                    ngx.print("c")
                }
            }
            """)
        let response = server.get("/sizes")
        let expected = "a" + String(repeating: "b", count: 1 << 20) + "c|4:\((1 << 20) + 2)"
        #expect(response.body.count == expected.count)
        #expect(response.body == expected)
    }
}

/// Counts successes from several threads.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var successes = 0
    func add(_ ok: Bool) {
        lock.lock()
        if ok { successes += 1 }
        lock.unlock()
    }
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return successes
    }
}

/// HEAD responses frame as the reference's: Lua output (filtered or not) gives a head with
/// neither `Content-Length` nor `Transfer-Encoding`, a `return` text and an error page keep
/// their `Content-Length` (each checked against Debian's nginx).
@Suite struct HeadResponseTests {
    @Test func framingAsTheReference() throws {
        let server = try TestServer(server: #"""
            location /f { body_filter_by_lua_block { ngx.arg[1] = string.upper(ngx.arg[1]) } content_by_lua_block { ngx.say("hello") } }
            location /h { header_filter_by_lua_block { ngx.header["X-H"] = "1" } content_by_lua_block { ngx.say("hello") } }
            location /p { content_by_lua_block { ngx.say("hello") } }
            location /s { content_by_lua_block { ngx.say("a") ngx.flush(true) ngx.say("b") } }
            location /r { return 200 "text"; }
            location /e { content_by_lua_block { ngx.exit(404) } }
            """#)
        func head(_ path: String) -> String {
            server.exchange("HEAD \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        }
        for path in ["/f", "/h", "/p", "/s"] {
            let response = head(path)
            #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(path)")
            #expect(!response.contains("Content-Length"), "\(path)")
            #expect(!response.contains("Transfer-Encoding"), "\(path)")
            #expect(response.hasSuffix("\r\n\r\n"), "\(path): no body")
        }
        #expect(head("/r").contains("Content-Length: 4\r\n"))
        #expect(head("/e").hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(head("/e").contains("Content-Length: "))
    }
}
