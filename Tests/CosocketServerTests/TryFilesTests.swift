import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `try_files`: `Fixtures/try-files.conf` served as one server, each request's status,
/// `Location`, `Content-Type` and body as the reference answered them (`ref-nginx` on the same
/// locations and files, kept in `try-files.expected`, its port written `PORT`).
@Suite struct TryFilesTests {
    static let requests: [(method: String, path: String)] = [
        ("GET", "/file.txt"), ("GET", "/dir"), ("GET", "/dir/"), ("GET", "/missing?q=1"), ("POST", "/missing"),
        ("GET", "/lua/anything"), ("GET", "/lua-missing/x"), ("GET", "/code"), ("GET", "/code404"), ("GET", "/after-access"),
        ("GET", "/rewrite-only"), ("GET", "/keeps-args?a=b"), ("GET", "/al/y.txt"), ("GET", "/al/z.txt"), ("GET", "/sub/x.txt"),
    ]

    static func answer(_ server: TestServer, _ method: String, _ path: String) -> String {
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        let body = method == "POST" ? "x=1" : ""
        client.send("\(method) \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = client.readResponse() ?? HTTPResponse.none
        let headers = response.headers.filter { ["location", "content-type"].contains($0.name.lowercased()) }.map { "\($0.name): \($0.value)\n" }.joined()
        let text = response.body.replacingOccurrences(of: "cosocket", with: "SERVER").replacingOccurrences(of: "\r\n", with: "\n")
        return "== \(method) \(path)\n\(response.status)\n\(headers)\(text)"
    }

    /// Files and directories (`$uri/`), the fallback URI with its own arguments (the method
    /// kept), named locations, `=code` (an `error_page` for it, an empty body for a code
    /// without a page), after `access_by_lua*` and before `content_by_lua*` (which serves the
    /// file found), `alias`, and a server's `try_files` for requests no location takes.
    @Test func answersAsTheReference() throws {
        let other = makeTemporaryDirectory()
        writeFile(other + "/y.txt", "aliased\n")
        let locations = try String(contentsOfFile: SubrequestTests.fixtures.appendingPathComponent("try-files.conf").path, encoding: .utf8)
            .replacingOccurrences(of: "OTHER/", with: other + "/")
        let server = try TestServer(server: locations, files: [
            "html/dir/index.html": "index of dir\n", "html/file.txt": "a file\n", "html/sub/x.txt": "sub x\n",
        ])
        let expected = try String(contentsOfFile: SubrequestTests.fixtures.appendingPathComponent("try-files.expected").path, encoding: .utf8)
            .replacingOccurrences(of: "test:PORT", with: "test:\(server.port)")
        let sections = SubrequestTests.sections(of: expected.replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(sections.count == Self.requests.count)
        for (request, section) in zip(Self.requests, sections) {
            #expect(Self.answer(server, request.method, request.path) == section)
        }
        #expect(server.log.contains("access ran"))
        #expect(server.log.contains("rewrite ran"))
    }

    @Test(arguments: [
        ("location / { try_files /x; }", "invalid number of arguments in \"try_files\" directive"),
        ("location / { try_files /x =abc; }", "invalid code \"=abc\""),
        ("location / { try_files /x =1000; }", "invalid code \"=1000\""),
        ("location / { try_files /x =404; try_files /y =404; }", "\"try_files\" directive is duplicate"),
    ]) func badArgumentsAreRefused(_ directive: String, _ message: String) throws {
        let text = "events {} http { server { listen 127.0.0.1:1; \(directive) } }"
        let nodes = try ConfigParser().parse(text, file: "test.conf")
        #expect {
            try ConfigurationBuilder(prefix: "/tmp").build(nodes)
        } throws: { error in
            String(describing: error).hasPrefix(message)
        }
    }

    /// At the http level nginx refuses it.
    @Test func notAllowedInHTTP() throws {
        let nodes = try ConfigParser().parse("events {} http { try_files /a /b; server { listen 127.0.0.1:1; } }", file: "test.conf")
        #expect {
            try ConfigurationBuilder(prefix: "/tmp").build(nodes)
        } throws: { error in
            String(describing: error).hasPrefix("\"try_files\" directive is not allowed here")
        }
    }
}
