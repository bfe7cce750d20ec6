import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// Edge cases of the connection's request and response framing.
@Suite struct HTTPEdgeCaseTests {
    static let configuration = """
        location = /ok { return 200 "ok"; }
        location = /big { content_by_lua_block { ngx.print(string.rep("x", 2 * 1024 * 1024)) } }
        location = /nocontent { content_by_lua_block { ngx.status = 204 ngx.send_headers() ngx.flush(true) } }
        location = /split { content_by_lua_block { ngx.header["X-Split"] = ngx.var.arg_v ngx.say("done") } }
        location = /huge { content_by_lua_block { ngx.say(pcall(ngx.sleep, 0/0), " ", ngx.decode_args("a=1", math.huge).a) } }
        location = /log { content_by_lua_block { ngx.log(ngx.ERR, "marker") error("boom") } }
        """

    @Test func http10KeepAliveIsHonoured() throws {
        let server = try TestServer(server: Self.configuration)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        for _ in 0..<2 {
            client.send("GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = client.readResponse()
            #expect(response?.body == "ok")
            #expect(response?.header("Connection") == "keep-alive")
        }
    }

    @Test func headToAMissingLocationHasNoBody() throws {
        let server = try TestServer(server: Self.configuration)
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(client.readResponse(headRequest: true)?.status == 404)
        // The next response is read from where the 404 ended: no stray body in between.
        #expect(client.readResponse()?.body == "ok")
    }

    @Test func streamed204HasNoFraming() throws {
        let server = try TestServer(server: Self.configuration)
        let response = server.get("/nocontent")
        #expect(response.status == 204)
        #expect(response.header("Transfer-Encoding") == nil)
        #expect(response.body.isEmpty)
    }

    @Test func lineBreaksInHeaderValuesAreEscaped() throws {
        let server = try TestServer(server: Self.configuration)
        let response = server.get("/split?v=a%0D%0AInjected:%20yes")
        #expect(response.header("Injected") == nil)
        #expect(response.header("X-Split") == "a%0D%0AInjected: yes")
    }

    @Test func aClosingResponseIsSentInFull() throws {
        let server = try TestServer(server: Self.configuration)
        let response = server.get("/big")  // Connection: close
        #expect(response.body.utf8.count == 2 * 1024 * 1024)
    }

    @Test func manyPipelinedRequestsAreAnsweredWithoutRecursion() throws {
        // Above nginx's default `keepalive_requests` (1000), which would close the connection.
        let server = try TestServer(server: Self.configuration, http: "keepalive_requests 10000;")
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        let count = 3000
        client.send(String(repeating: "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", count: count - 1) + "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        var answered = 0
        while let response = client.readResponse(), response.body == "ok" { answered += 1 }
        #expect(answered == count)
    }

    @Test func nonFiniteNumbersFromLuaDoNotCrash() throws {
        let server = try TestServer(server: Self.configuration)
        // ngx.sleep(0/0) is refused ("invalid sleep duration"), as the reference refuses it.
        #expect(server.get("/huge").body == "false 1\n")
        #expect(server.get("/ok").body == "ok")
    }

    @Test func errorLogLinesNameTheRequestAsNginxDoes() throws {
        let server = try TestServer(server: Self.configuration)
        #expect(server.get("/log?x=1").status == 500)
        let suffix = ", client: 127.0.0.1, server: , request: \"GET /log?x=1 HTTP/1.1\", host: \"test\""
        #expect(server.log.waitFor(":1: marker" + suffix))
        #expect(server.log.waitFor("in main chunk" + suffix))
    }
}
