import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `ngx.location.capture` and `capture_multi` (and `ngx.exec`, whose corpus shares the
/// locations): `Fixtures/subrequests.conf` served as one server, each URL's status and body
/// as the reference answered them (`ref-nginx` on the same locations, kept in
/// `subrequests.expected`). Two answers there are ours: `/multi` (the reference's run of the
/// combined file failed with its own `cannot resume non-suspended coroutine`; a run of that
/// location alone gave the same text), and `cat: nil` in `/vars`, where nginx's variables
/// are the whole configuration's (see README, "Deliberate differences").
@Suite struct SubrequestTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Each URL with a 10-byte body, as `curl -X GET -d parentbody` sent it to the reference.
    static func answer(_ server: TestServer, _ path: String) -> String {
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("GET \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\nparentbody")
        let response = client.readResponse() ?? HTTPResponse.none
        return "== \(path)\n\(response.status)\n\(response.body)"
    }

    /// Options (`args`, `method`, `body`, `always_forward_body`, `vars`, `copy_all_vars`,
    /// `share_all_vars`, `ctx`), results (`status`, multi-value `header`, `body`,
    /// `truncated`), failing and exiting subrequests, nesting to nginx's depth limit, the
    /// filters and cosockets inside subrequests, every argument error; and `ngx.exec`'s.
    @Test func corpusAnswersAsTheReference() throws {
        let locations = try String(contentsOfFile: Self.fixtures.appendingPathComponent("subrequests.conf").path, encoding: .utf8)
        let expected = try String(contentsOfFile: Self.fixtures.appendingPathComponent("subrequests.expected").path, encoding: .utf8)
        let server = try TestServer(server: locations)
        let paths = expected.split(separator: "\n").filter { $0.hasPrefix("== ") }.map { String($0.dropFirst(3)) }
        #expect(paths.count == 22)
        for (path, section) in zip(paths, Self.sections(of: expected)) {
            #expect(Self.answer(server, path) == section)
        }
        #expect(server.log.contains("lua subrequests cycle while processing \"/nested\""))
        #expect(server.log.contains("subrequest: \"/nested\""))
        #expect(server.log.contains("variable \"nope\" cannot be assigned a value (maybe you forgot to define it first?)"))
        #expect(server.log.contains("unsupported HTTP method: 3"))
        #expect(server.log.contains("attempt to set status 404 via ngx.exit after sending out the response status 200"))
        #expect(!server.log.contains("after exec ran"))
    }

    /// The expected file cut at its `== ` lines.
    static func sections(of text: String) -> [String] {
        var sections: [String] = []
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("== "), !current.isEmpty {
                sections.append(current)
                current = ""
            }
            current += line + "\n"
        }
        if !current.isEmpty { sections.append(String(current.dropLast())) }
        return sections
    }

    /// `capture_multi` runs its subrequests at once: the slow one ends last, and the total
    /// takes about the longest, not the sum.
    @Test func multiRunsConcurrently() throws {
        let server = try TestServer(server: #"""
            location /slow { content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)); ngx.log(ngx.ERR, "done ", ngx.var.arg_s); ngx.print(ngx.var.arg_s) } }
            location /t { content_by_lua_block {
                local start = ngx.now()
                local a, b, c = ngx.location.capture_multi{ { "/slow?s=0.3" }, { "/slow?s=0.3" }, { "/slow?s=0.05" } }
                ngx.update_time()
                ngx.say(a.body, " ", b.body, " ", c.body, " ", ngx.now() - start < 0.55)
            } }
            """#)
        #expect(server.get("/t").body == "0.3 0.3 0.05 true\n")
        let lines = server.log.lines.filter { $0.contains("done ") }
        #expect(lines.count == 3)
        #expect(lines.first?.contains("done 0.05") == true)
    }

    /// Sixteen parents at once, each with two subrequests that wait: every parent gets its
    /// own results.
    @Test func concurrentParentsKeepTheirResults() throws {
        let server = try TestServer(server: #"""
            location /echo { content_by_lua_block { ngx.sleep(0.02); ngx.print(ngx.var.arg_v) } }
            location /t { content_by_lua_block {
                local r1, r2 = ngx.location.capture_multi{ { "/echo", { args = { v = ngx.var.arg_n .. "a" } } }, { "/echo?v=" .. ngx.var.arg_n .. "b" } }
                ngx.print(r1.body, r2.body)
            } }
            """#)
        let clients = (0..<16).map { _ in HTTPClient(port: server.port) }
        defer { for client in clients { client.close() } }
        for (index, client) in clients.enumerated() { client.send("GET /t?n=\(index) HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n") }
        for (index, client) in clients.enumerated() { #expect(client.readResponse()?.body == "\(index)a\(index)b") }
    }

    /// More subrequests than the 20 stack slots Lua guarantees a C function: every result
    /// arrives, in order. Headers set with `ngx.req.set_header` before are inherited (the
    /// reference's README, `ngx.req.set_header`).
    @Test func manyResultsAndInheritedHeaders() throws {
        let server = try TestServer(server: #"""
            location /n { content_by_lua_block { ngx.print(ngx.var.arg_i, ngx.var.http_x_set or "-") } }
            location /t { content_by_lua_block {
                ngx.req.set_header("X-Set", "!")
                local reqs = {}
                for i = 1, 40 do reqs[i] = { "/n", { args = { i = i } } } end
                local out = {}
                for i, res in ipairs({ ngx.location.capture_multi(reqs) }) do out[i] = res.body end
                ngx.print(#out, " ", table.concat(out, ","))
            } }
            """#)
        let expected = "40 " + (1...40).map { "\($0)!" }.joined(separator: ",")
        #expect(server.get("/t").body == expected)
    }

    /// A location without a content handler serves files (nginx's static module) to a
    /// subrequest too; `internal` and `deny` do not stop subrequests.
    @Test func staticInternalAndDeniedLocations() throws {
        let server = try TestServer(
            server: #"""
                root html;
                location /static/ { }
                location /hidden { internal; content_by_lua_block { ngx.print("hidden") } }
                location /denied { deny all; content_by_lua_block { ngx.print("denied-ran") } }
                location /t { content_by_lua_block {
                    for _, uri in ipairs{ "/static/a.txt", "/static/none.txt", "/hidden", "/denied" } do
                        local r = ngx.location.capture(uri)
                        ngx.say(r.status, " ", r.body)
                    end
                } }
                """#, files: ["html/static/a.txt": "file body"])
        #expect(server.get("/t").body == "200 file body\n404 \n200 hidden\n200 denied-ran\n")
        #expect(server.get("/hidden").status == 404)
        #expect(server.get("/denied").status == 403)
    }
}
