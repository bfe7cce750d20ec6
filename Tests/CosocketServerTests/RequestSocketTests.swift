import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ngx.req.socket()` and `ngx.req.socket(true)`, through real requests.
@Suite struct RequestSocketTests {
    /// Echoes the body read through the request socket in the mode `?mode=` names, then what
    /// a read past its end answers.
    static let echo = """
        location /echo {
            content_by_lua_block {
                local sock, err = ngx.req.socket()
                if not sock then ngx.say("err: ", err) return end
                sock:settimeout(2000)
                local mode, parts = ngx.var.arg_mode, {}
                if mode == "all" then
                    parts[1] = assert(sock:receive("*a"))
                elseif mode == "size" then
                    while true do
                        local data, e, partial = sock:receive(1000)
                        if not data then parts[#parts + 1] = partial break end
                        parts[#parts + 1] = data
                    end
                elseif mode == "any" then
                    while true do
                        local data = sock:receiveany(777)
                        if not data then break end
                        parts[#parts + 1] = data
                    end
                elseif mode == "lines" then
                    while true do
                        local line, e, partial = sock:receive("*l")
                        if not line then parts[#parts + 1] = partial break end
                        parts[#parts + 1] = line .. "\\n"
                    end
                end
                -- Past the end, as in the reference: `*a` answers "" until a read has
                -- failed (the loops above end with one), then reads answer closed.
                local rest = sock:receive("*a")
                local more, e = sock:receive(1)
                ngx.print(table.concat(parts), "|", tostring(rest), "|", tostring(more), " ", e, " ", tostring(sock:receive("*a")))
            }
        }
        """

    /// A body of `size` bytes (lines of text, so each mode can read it).
    static func body(_ size: Int) -> String {
        let line = "0123456789abcdefghijklmnopqrstuvwxyz-request-socket-line\n"
        var text = String(repeating: line, count: size / line.utf8.count + 1)
        text.removeLast(text.utf8.count - size)
        return text
    }

    static func chunked(_ body: String, chunkSize: Int) -> String {
        var out = ""
        var rest = Substring(body)
        while !rest.isEmpty {
            let chunk = rest.prefix(chunkSize)
            out += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n"
            rest = rest.dropFirst(chunk.count)
        }
        return out + "0\r\nX-Trailer: t\r\n\r\n"
    }

    @Test(arguments: [1, 4095, 4096, 4097, 1 << 20])
    func bodiesOfManySizes(size: Int) throws {
        let server = try TestServer(server: Self.echo, http: "client_max_body_size 2m;")
        let body = Self.body(size)
        for mode in ["all", "size", "any", "lines"] {
            let client = HTTPClient(port: server.port)
            defer { client.close() }
            client.send("POST /echo?mode=\(mode) HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n" + body)
            let response = client.readResponse()
            #expect(response?.status == 200)
            // Only "all" ends without a failed read (the loops stop at one).
            let rest = mode == "all" ? "||" : "|nil|"
            #expect(response?.body == body + rest + "nil closed nil", "mode \(mode), \(size) bytes")
            // The connection carries on: the body socket gave it back at the body's end.
            client.send("POST /echo?mode=all HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz")
            #expect(client.readResponse()?.body == "xyz||nil closed nil")
        }
        // Chunked: the socket yields the de-chunked body (the reference refuses chunked bodies).
        // One-byte chunks of the 1 MiB body would be 6 MiB of framing: seconds of a debug
        // build's time under CI load, and no case the smaller sizes do not already cover.
        let chunkSizes = size > 65536 ? [1000, 65536] : [1, 1000, 65536]
        for chunkSize in chunkSizes where chunkSize < 4 * size || chunkSize == 65536 {
            let client = HTTPClient(port: server.port)
            defer { client.close() }
            client.send("POST /echo?mode=size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + Self.chunked(body, chunkSize: chunkSize))
            #expect(client.readResponse()?.body == body + "|nil|nil closed nil", "chunks of \(chunkSize), \(size) bytes")
        }
    }

    @Test func noBodyAndTheReferenceRules() throws {
        let server = try TestServer(server: Self.echo + """
            location /rules {
                content_by_lua_block {
                    local sock = assert(ngx.req.socket())
                    ngx.say(select(2, ngx.req.socket()))
                    ngx.req.read_body()
                    ngx.say(ngx.req.get_body_data())
                    ngx.say(sock:receive(2))
                    ngx.say(sock.send, " ", sock.close, " ", sock.setkeepalive)
                }
            }
            location /discarded {
                content_by_lua_block {
                    ngx.req.discard_body()
                    ngx.say(select(2, ngx.req.socket()))
                }
            }
            location /read {
                content_by_lua_block {
                    ngx.req.read_body()
                    ngx.say(ngx.req.get_body_data())
                    ngx.say(select(2, ngx.req.socket()))
                }
            }
            """)
        #expect(server.get("/echo?mode=all").body == "err: no body\n")
        var client = HTTPClient(port: server.port)
        client.send("POST /rules HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab")
        #expect(client.readResponse()?.body == "request body already exists\nnil\nab\nnil nil nil\n")
        // A discarded body that had arrived: the reference then sees none.
        client.send("POST /discarded HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab")
        #expect(client.readResponse()?.body == "no body\n")
        client.close()
        client = HTTPClient(port: server.port)
        defer { client.close() }
        // read_body waits for a body that arrives in pieces.
        client.send("POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc")
        usleep(100_000)
        client.send("def")
        #expect(client.readResponse()?.body == "abcdef\nrequest body already exists\n")
    }

    /// A client that stops sending mid-body: the read times out (with what arrived), and once
    /// the client goes away the socket answers `closed`.
    @Test func clientStopsMidBody() throws {
        let server = try TestServer(server: """
            location /slow {
                content_by_lua_block {
                    local sock = assert(ngx.req.socket())
                    sock:settimeout(200)
                    local data, err, partial = sock:receive(10)
                    ngx.log(ngx.ERR, "first: ", err, " [", partial, "]")
                    -- Longer than the test waits: a close that went unnoticed cannot pass
                    -- as a timeout.
                    sock:settimeout(30000)
                    data, err, partial = sock:receive(10)
                    ngx.log(ngx.ERR, "second: ", err, " [", partial, "]")
                }
            }
            """)
        let client = HTTPClient(port: server.port)
        client.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        #expect(server.log.waitFor("first: timeout [abc]"))
        client.send("de")
        usleep(100_000)
        client.close()
        #expect(server.log.waitFor("second: closed [de]"))
    }

    /// A raw socket after a 101 response: a tiny line protocol, then the connection closes
    /// (it is never reused for keep-alive).
    @Test func rawSocketLineProtocol() throws {
        let server = try TestServer(server: """
            location /raw {
                content_by_lua_block {
                    ngx.status = 101
                    ngx.header["Upgrade"] = "lines"
                    ngx.send_headers()
                    ngx.flush(true)
                    local sock = assert(ngx.req.socket(true))
                    ngx.log(ngx.ERR, "second body socket: ", select(2, ngx.req.socket()))
                    while true do
                        local line, err = sock:receive()
                        if not line then ngx.log(ngx.ERR, "raw read: ", err) break end
                        if line == "quit" then
                            sock:send("bye\\n")
                            break
                        end
                        assert(sock:send({"echo ", line:upper(), "\\n"}))
                    end
                }
            }
            location /buffered {
                content_by_lua_block {
                    ngx.print("pending")
                    local sock = assert(ngx.req.socket(true))
                    ngx.log(ngx.ERR, "twice: ", select(2, ngx.req.socket(true)))
                    ngx.log(ngx.ERR, "methods: ", tostring(sock.close), " ", tostring(sock.setkeepalive))
                    sock:send("0\\r\\n\\r\\n")
                }
            }
            """)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("GET /raw HTTP/1.1\r\nHost: t\r\n\r\nhello\n")
        let head = client.readUntil("\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(head.contains("Connection: upgrade\r\n"))
        #expect(head.contains("Upgrade: lines\r\n"))
        var echoed = head.components(separatedBy: "\r\n\r\n").dropFirst().joined()
        if !echoed.contains("echo HELLO\n") { echoed += client.readUntil("echo HELLO\n") }
        #expect(echoed == "echo HELLO\n")
        client.send("second line\n")
        #expect(client.readUntil("\n") == "echo SECOND LINE\n")
        client.send("quit\nGET /raw HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(client.readUntil("\n") == "bye\n")
        #expect(client.waitForClose())
        #expect(server.log.contains("second body socket: request body already exists"))
        // Output written before is sent first (nginx would have sent it already).
        #expect(server.get("/buffered").body == "pending")
        #expect(server.log.waitFor("twice: duplicate call"))
        #expect(server.log.contains("methods: nil nil"))
    }

    /// `lua_check_client_abort` beside a raw socket that is not reading: a client that
    /// leaves runs `ngx.on_abort`'s handler (or, without one, ends the request) as the
    /// reference does (checked with Debian's nginx: it logs ABORTED for the same handler).
    @Test func clientAbortIsSeenWhileARawSocketIsHeld() throws {
        let server = try TestServer(server: """
            lua_check_client_abort on;
            location /held {
                content_by_lua_block {
                    ngx.status = 101
                    ngx.send_headers()
                    ngx.flush(true)
                    local sock = assert(ngx.req.socket(true))
                    assert(ngx.on_abort(function() ngx.log(ngx.ERR, "ABORTED ", ngx.var.arg_n) ngx.exit(499) end))
                    ngx.sleep(30)
                    ngx.log(ngx.ERR, "slept through ", ngx.var.arg_n)
                }
            }
            location /unhandled {
                content_by_lua_block {
                    ngx.status = 101
                    ngx.send_headers()
                    ngx.flush(true)
                    local sock = assert(ngx.req.socket(true))
                    ngx.sleep(30)
                    ngx.log(ngx.ERR, "unhandled slept through")
                }
                log_by_lua_block { ngx.log(ngx.ERR, "logged status ", ngx.status) }
            }
            location /ok { return 200 "ok"; }
            """)
        for (path, expected) in [("/held?n=1", "ABORTED 1"), ("/unhandled", "logged status 101")] {
            let client = HTTPClient(port: server.port)
            client.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(client.readUntil("\r\n\r\n").hasPrefix("HTTP/1.1 101 "))
            client.close()
            #expect(server.log.waitFor(expected), "\(path)")
        }
        #expect(!server.log.contains("slept through"))
        // The worker goes on.
        #expect(server.get("/ok").body == "ok")
    }

    /// A malformed chunk size while the handler waits for the body: 400, and nothing past it
    /// is read as a request.
    @Test func malformedChunkAndMoreThanDeclared() throws {
        let server = try TestServer(server: Self.echo)
        var client = HTTPClient(port: server.port)
        client.send("POST /echo?mode=all HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        usleep(100_000)
        client.send("zz\r\nGET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(client.readResponse()?.status == 400)
        #expect(client.waitForClose())
        client.close()
        // Bytes past Content-Length are the next request (here not one: 400 after the answer).
        client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /echo?mode=all HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcdef\r\n\r\n")
        #expect(client.readResponse()?.body == "abc||nil closed nil")
        #expect(client.readResponse()?.status == 400)
    }

    /// `Expect: 100-continue`: the go-ahead goes out once the handler reads the body.
    @Test func expectContinue() throws {
        let server = try TestServer(server: Self.echo)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /echo?mode=size HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        #expect(client.readUntil("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n")
        client.send("wxyz")
        #expect(client.readResponse()?.body == "wxyz|nil|nil closed nil")
    }
}
