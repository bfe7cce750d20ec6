import CosocketTestSupport
import Foundation
import Testing

/// `ngx.var` and `ngx.req.*`, through HTTP.
@Suite struct RequestAPITests {
    @Test func variables() throws {
        let server = try TestServer(server: """
            set $mine original;
            location /v {
                content_by_lua_block {
                    local v = ngx.var
                    ngx.say(v.uri, "|", v.args, "|", v.arg_a, "|", v.arg_missing, "|", v.http_x_custom_header, "|",
                            v.request_method, "|", v.remote_addr, "|", v.server_port, "|", v.host, "|",
                            v.request_uri, "|", v.scheme, "|", v.mine, "|", v.http_user_agent)
                    v.mine = "changed"
                    v.args = "a=rewritten&b=2"
                    ngx.say(v.mine, "|", v.arg_a, "|", v.arg_b, "|", ngx.req.get_uri_args().a)
                    ngx.say(pcall(function() ngx.var.not_a_variable = "x" end))
                }
            }
            """)
        let response = server.get("/v/path?a=1&b=two", headers: ["X-Custom-Header: custom", "User-Agent: tester"])
        let lines = response.body.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first == "/v/path|a=1&b=two|1|nil|custom|GET|127.0.0.1|\(server.port)|test|/v/path?a=1&b=two|http|original|tester")
        #expect(lines.dropFirst().first == "changed|rewritten|2|rewritten")
        #expect(lines.last?.hasPrefix("false") == true)
        #expect(lines.last?.contains("not_a_variable") == true)
    }

    @Test func requestMethodArgsAndHeaders() throws {
        let server = try TestServer(server: """
            location /r {
                content_by_lua_block {
                    local args = ngx.req.get_uri_args()
                    local h = ngx.req.get_headers()
                    ngx.say(ngx.req.get_method(), " ", ngx.req.http_version())
                    ngx.say(args.single, " ", type(args.multi), " ", table.concat(args.multi, ","), " ", tostring(args.flag))
                    ngx.say(h["x-one"], " ", type(h["x-multi"]), " ", table.concat(h["x-multi"], ","))
                }
            }
            """)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("PUT /r?single=s&multi=1&multi=2&flag HTTP/1.0\r\nX-One: one\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n")
        let response = client.readResponse()
        #expect(response?.body == "PUT 1\ns table 1,2 true\none table a,b\n", "\(server.log.lines)")
        // HTTP/1.0 without keep-alive: the server closes.
        #expect(client.waitForClose())
        #expect(server.get("/r?multi=1&multi=2", headers: ["X-Multi: a", "X-Multi: b"]).body.hasPrefix("GET 1.1\n"))
    }

    @Test func postArgsBodyDataAndDiscard() throws {
        let server = try TestServer(server: """
            location = /post {
                content_by_lua_block {
                    ngx.req.read_body()
                    local args = ngx.req.get_post_args()
                    ngx.say(ngx.req.get_body_data(), "|", args.name, "|", args.list[1], args.list[2])
                }
            }
            location = /discard {
                content_by_lua_block { ngx.req.discard_body() ngx.say("discarded ", tostring(ngx.req.get_body_data())) }
            }
            location = /nobody { content_by_lua_block { ngx.req.read_body() ngx.say(tostring(ngx.req.get_body_data())) } }
            """)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        let form = "name=a%20b&list=x&list=y"
        client.send("POST /post HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)")
        #expect(client.readResponse()?.body == "\(form)|a b|xy\n")
        // The discarded body does not disturb the next request on the connection.
        client.send("POST /discard HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde")
        #expect(client.readResponse()?.body.hasPrefix("discarded") == true)
        client.send("GET /nobody HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(client.readResponse()?.body == "nil\n")
    }

    @Test
    func getHeadersUnderscoreLookup() throws {
        let server = try TestServer(server: "location / { content_by_lua_block { ngx.print(ngx.req.get_headers().x_one) } }")
        #expect(server.get("/", headers: ["X-One: one"]).body == "one")
    }

    @Test
    func discardedBodyIsNotReadable() throws {
        let server = try TestServer(server: "location / { content_by_lua_block { ngx.req.discard_body() ngx.print(tostring(ngx.req.get_body_data())) } }")
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde")
        #expect(client.readResponse()?.body == "nil")
    }

    @Test func chunkedRequestBodies() throws {
        let server = try TestServer(server: """
            location = /echo { content_by_lua_block { ngx.req.read_body() ngx.print(ngx.req.get_body_data()) } }
            """)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n")
        #expect(client.readResponse()?.body == "hello 0123456789")
        // In pieces, with a second request right behind.
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab")
        usleep(50_000)
        client.send("c\r\n0\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz")
        #expect(client.readResponse()?.body == "abc")
        #expect(client.readResponse()?.body == "xyz")
    }

    @Test func pipelinedRequestsWithBodies() throws {
        let server = try TestServer(server: """
            location / { content_by_lua_block { ngx.req.read_body() ngx.print(ngx.var.uri, ":", ngx.req.get_body_data() or "") } }
            """)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        var requests = ""
        for index in 0..<10 {
            let body = String(repeating: "\(index)", count: index * 100)
            requests += "POST /\(index) HTTP/1.1\r\nHost: t\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        client.send(requests)
        for index in 0..<10 {
            let response = client.readResponse()
            #expect(response?.body == "/\(index):" + String(repeating: "\(index)", count: index * 100))
        }
    }

    @Test func rawHeaderAndBadRequests() throws {
        let server = try TestServer(server: "location / { content_by_lua_block { ngx.print(ngx.req.raw_header()) } }")
        let raw = "GET /raw HTTP/1.1\r\nHost: t\r\nX-A: 1\r\nConnection: close\r\n\r\n"
        #expect(server.exchange(raw).hasSuffix("\r\n\r\n" + raw))
        let bad = server.exchange("GARBAGE\r\n\r\n")
        #expect(bad.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(bad.contains("<center><h1>400 Bad Request</h1></center>"))
        #expect(server.exchange("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n").hasPrefix("HTTP/1.1 400 "))
    }
}
