import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `ngx.req.set_header`, `clear_header`, `set_method`, `set_uri` (and its jump),
/// `set_uri_args`, `start_time`, `is_internal` and `ngx.resp.get_headers`.
@Suite struct RequestRewriteTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Every call of `Fixtures/req_rewrite.lua` answers what the reference answered
    /// (`ref-run -f`, kept in `req_rewrite.expected`): escapes, replacements, errors.
    @Test func callsAnswerAsTheReference() throws {
        let script = Self.fixtures.appendingPathComponent("req_rewrite.lua").path
        let expected = try String(contentsOfFile: Self.fixtures.appendingPathComponent("req_rewrite.expected").path, encoding: .utf8)
        let server = try TestServer(server: "location / { content_by_lua_file \(script); }")
        let response = server.get("/")
        #expect(response.status == 200)
        #expect(response.body == expected)
    }

    static let phases = #"""
        location /a {
          rewrite_by_lua_block {
            ngx.req.set_header("X-Seen", "rewrite")
            ngx.req.set_method(ngx.HTTP_POST)
            if ngx.var.arg_to then ngx.req.set_uri(ngx.var.arg_to, true) ngx.say("not reached") end
            ngx.req.set_uri("/a/changed")
          }
          access_by_lua_block { ngx.ctx.access = ngx.var.uri }
          content_by_lua_block {
            ngx.say("a ", ngx.req.get_method(), " ", ngx.var.request_method, " ", ngx.var.http_x_seen, " ", ngx.ctx.access, " ", ngx.var.uri, " ", tostring(ngx.req.is_internal()))
          }
        }
        location /b {
          set $from_b "set-in-b";
          content_by_lua_block {
            ngx.say("b ", ngx.req.get_method(), " ", ngx.var.http_x_seen, " ", ngx.var.uri, " ", ngx.var.request_uri, " ", ngx.var.from_b, " ", tostring(ngx.req.is_internal()))
          }
        }
        location /loop {
          rewrite_by_lua_block { ngx.req.set_uri("/loop", true) }
          content_by_lua_block { ngx.say("never") }
        }
        location /ret { return 418; }
        location /exit { content_by_lua_block { ngx.req.set_uri("/b", true) } }
        """#

    /// What the rewrite phase changed is what later phases and variables see; a jump takes
    /// the new URI's location (its `set` runs), a cycle ends in a 500, a jump nowhere in a 404.
    @Test func laterPhasesSeeTheChanges() throws {
        let server = try TestServer(server: Self.phases)
        #expect(server.get("/a").body == "a POST POST rewrite /a/changed /a/changed false\n")
        #expect(server.get("/a?to=/b").body == "b POST rewrite /b /a?to=/b set-in-b true\n")
        #expect(server.get("/a?to=/ret").status == 418)
        #expect(server.get("/a?to=/nowhere").status == 404)
        #expect(server.get("/loop").status == 500)
        #expect(server.log.contains("rewrite or internal redirection cycle while processing \"/loop\""))
        let exit = server.get("/exit")
        #expect(exit.status == 500)
        #expect(server.log.contains("API disabled in the context of content_by_lua*"))
    }

    /// A header set from a peer's bytes cannot split the head it is read into.
    @Test func headerInjectionIsEscaped() throws {
        let server = try TestServer(server: #"""
            location / {
              content_by_lua_block {
                ngx.req.set_header("X-In", ngx.var.arg_v)
                ngx.say(ngx.var.http_x_in)
                ngx.say(ngx.req.get_headers()["x-in"])
              }
            }
            """#)
        #expect(server.get("/?v=a%0D%0AX-Evil:%201").body == "a%0D%0AX-Evil: 1\na%0D%0AX-Evil: 1\n")
    }
}

/// The request body writers and bodies kept in files (`client_body_buffer_size`,
/// `client_body_temp_path`).
@Suite struct RequestBodyWriterTests {
    static func post(_ server: TestServer, _ path: String, _ body: String) -> HTTPResponse {
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
        return client.readResponse() ?? HTTPResponse.none
    }

    /// Every call of `Fixtures/req_body.lua` answers what the reference answered for the same
    /// POST (`ref-nginx`, kept in `req_body.expected`).
    @Test func writersAnswerAsTheReference() throws {
        let script = RequestRewriteTests.fixtures.appendingPathComponent("req_body.lua").path
        let expected = try String(contentsOfFile: RequestRewriteTests.fixtures.appendingPathComponent("req_body.expected").path, encoding: .utf8)
        let server = try TestServer(server: "client_body_buffer_size 8k; location / { content_by_lua_file \(script); }")
        let response = Self.post(server, "/", "orig=body")
        #expect(response.status == 200)
        #expect(response.body == expected)
    }

    /// A body beyond the buffer is in a file under `client_body_temp_path` (removed when the
    /// request ends); one built with `append_body` past 10 MiB too; later phases read the new one.
    @Test func largeBodiesGoToFiles() throws {
        let server = try TestServer(server: #"""
            client_body_buffer_size 1k;
            client_body_temp_path body_temp;
            location /read {
              content_by_lua_block {
                ngx.req.read_body()
                local path = ngx.req.get_body_file()
                local f = io.open(path) local data = f:read("*a") f:close()
                ngx.say(tostring(ngx.req.get_body_data()), " ", #data, " ", data:sub(1, 3), " ", path:find("/body_temp/", 1, true) ~= nil)
                ngx.say(ngx.req.get_post_args())
                ngx.shared.paths:set("last", path)
              }
            }
            location /gone { content_by_lua_block { ngx.say(io.open(ngx.shared.paths:get("last")) == nil) } }
            location /small {
              content_by_lua_block { ngx.req.read_body() ngx.say(ngx.req.get_body_data(), " ", tostring(ngx.req.get_body_file())) }
            }
            location /build {
              rewrite_by_lua_block {
                ngx.req.read_body()
                ngx.req.init_body()
                local piece = string.rep("0123456789abcdef", 4096)
                for i = 1, 161 do ngx.req.append_body(piece) end
                ngx.req.finish_body()
              }
              content_by_lua_block {
                local f = io.open(ngx.req.get_body_file()) local data = f:read("*a") f:close()
                ngx.say(#data, " ", ngx.var.http_content_length, " ", tostring(ngx.req.get_body_data()))
              }
            }
            """#, http: "lua_shared_dict paths 1m;")
        let large = String(repeating: "abc", count: 1000)
        #expect(Self.post(server, "/read", large).body == "nil 3000 abc true\nnilrequest body in temp file not supported\n")
        #expect(server.get("/gone").body == "true\n")
        #expect(Self.post(server, "/small", "a=1").body == "a=1 nil\n")
        #expect(Self.post(server, "/build", "x").body == "10551296 10551296 nil\n")
    }
}

/// The `ngx` table, two levels deep, holds every name the reference's has, in a request
/// handler, but for those listed here.
@Suite struct NgxNamesTests {
    /// Names the reference has that are deliberately missing, each with why.
    static let exclusions: Set<String> = [
        "_phase_ctx",  // the reference's internal slot
        "exec", "location", "location.capture", "location.capture_multi",  // subrequests: a later issue
    ]

    @Test func everyReferenceNameIsThere() throws {
        let script = RequestRewriteTests.fixtures.appendingPathComponent("ngx-names.lua").path
        let reference = try String(contentsOfFile: RequestRewriteTests.fixtures.appendingPathComponent("ngx-names.reference").path, encoding: .utf8)
        let server = try TestServer(server: "location / { content_by_lua_file \(script); }")
        let ours = Set(server.get("/").body.split(separator: "\n").map(String.init))
        let missing = reference.split(separator: "\n").map(String.init).filter { !ours.contains($0) && !Self.exclusions.contains($0) }
        #expect(ours.count > 100)
        #expect(missing == [])
    }
}

/// The request APIs in each phase they may (or may not) run in, against the reference's answers.
@Suite struct RequestPhaseTests {
    @Test func eachPhaseAnswersAsTheReference() throws {
        let probe = RequestRewriteTests.fixtures.appendingPathComponent("phase-probe.lua").path
        let expected = try String(contentsOfFile: RequestRewriteTests.fixtures.appendingPathComponent("phase-probe.expected").path, encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let server = try TestServer(server: """
            location / {
              set_by_lua_block $x { dofile("\(probe)") return 1 }
              header_filter_by_lua_block { dofile("\(probe)") }
              body_filter_by_lua_block { if ngx.arg[2] then dofile("\(probe)") end }
              log_by_lua_block { dofile("\(probe)") }
              content_by_lua_block { ngx.req.set_header("X-Z", "z") ngx.print(ngx.req.raw_header()) }
            }
            """, http: "init_worker_by_lua_block { ngx.timer.at(0, function() loadfile(\"\(probe)\")() end) }")
        let response = server.get("/")
        #expect(response.body.hasPrefix("GET / HTTP/1.1\r\n"))
        #expect(!response.body.contains("X-Z"))
        #expect(waitUntil { server.log.count(of: "PHASE ") >= 5 })
        let lines = server.log.lines.compactMap { line -> String? in
            guard let start = line.range(of: "PHASE ") else { return nil }
            var text = String(line[start.lowerBound...])
            if let suffix = text.range(of: ", client:") { text = String(text[..<suffix.lowerBound]) }
            return text
        }.sorted()
        #expect(lines == expected)
    }
}
