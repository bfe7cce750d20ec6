import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `error_page` and `recursive_error_pages`: `Fixtures/error-pages.conf` served as one server,
/// each request's status, `Location`, `X-Foo`, `Content-Type`, `Last-Modified` and
/// `Accept-Ranges` and body as the reference answered them (`ref-nginx` on the same
/// locations, kept in `error-pages.expected`, with the server's name in error pages written
/// `SERVER`).
@Suite struct ErrorPageTests {
    static let requests: [(method: String, path: String)] = [
        ("GET", "/exit-keeps-headers"), ("POST", "/nothere"), ("HEAD", "/nothere"), ("GET", "/404.html"), ("POST", "/fixed"),
        ("GET", "/from-page"), ("GET", "/named"), ("GET", "/client-redirect"), ("GET", "/client-redirect-301"),
        ("GET", "/fixed-redirect-code"), ("GET", "/after-output"), ("GET", "/not-recursive"), ("GET", "/recursive"),
        ("GET", "/recursive?gone=1"), ("GET", "/return?q=1"), ("GET", "/variables?x=7"), ("GET", "/teapot"),
        ("GET", "/other-code"), ("GET", "/status-set"), ("GET", "/denied"), ("GET", "/in-if"), ("GET", "/in-if?page=1"),
        ("GET", "/page-fails"), ("GET", "/ctx"), ("GET", "/rewrite-phase"), ("DELETE", "/static-missing"),
    ]

    static let shownHeaders: Set<String> = ["location", "x-foo", "content-type", "last-modified", "accept-ranges"]

    static func answer(_ server: TestServer, _ method: String, _ path: String) -> String {
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        let body = method == "POST" ? "x=1" : ""
        client.send("\(method) \(path) HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = client.readResponse(headRequest: method == "HEAD") ?? HTTPResponse.none
        let headers = response.headers.filter { Self.shownHeaders.contains($0.name.lowercased()) }.map { "\($0.name): \($0.value)\n" }.joined()
        // nginx's pages end their lines with CRLF; "\r\n" is one Character to `split`.
        let text = response.body.replacingOccurrences(of: "cosocket", with: "SERVER").replacingOccurrences(of: "\r\n", with: "\n")
        return "== \(method) \(path)\n\(response.status)\n\(headers)\(text)"
    }

    /// Internal redirects (the method becomes GET, the status stays the original one, or the
    /// `=` code, or the page's), named locations, client redirects, one chance without
    /// `recursive_error_pages` and more with it, variables in the target, the levels' merge,
    /// `error_page` in `if`, pages for `return`, `deny`, a Lua error, a missing static file
    /// and a client's request for an `internal` location; output already written wins.
    @Test func answersAsTheReference() throws {
        let locations = try String(contentsOfFile: SubrequestTests.fixtures.appendingPathComponent("error-pages.conf").path, encoding: .utf8)
        let expected = try String(contentsOfFile: SubrequestTests.fixtures.appendingPathComponent("error-pages.expected").path, encoding: .utf8)
        let server = try TestServer(server: locations, files: ["html/404.html": "custom 404 page\n"])
        let sections = SubrequestTests.sections(of: expected.replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(sections.count == Self.requests.count)
        for (request, section) in zip(Self.requests, sections) {
            #expect(Self.answer(server, request.method, request.path) == section)
        }
        #expect(server.log.contains("attempt to set status 404 via ngx.exit after sending out the response status 200"))
    }

    /// The directive's arguments, refused in nginx's words (checked with `ref-nginx -t`).
    @Test(arguments: [
        ("error_page 200 /x;", "value \"200\" must be between 300 and 599"),
        ("error_page 600 /x;", "value \"600\" must be between 300 and 599"),
        ("error_page 499 /x;", "invalid value \"499\""),
        ("error_page abc /x;", "invalid value \"abc\""),
        ("error_page 404 =abc /x;", "invalid value \"=abc\""),
        ("error_page 404;", "invalid number of arguments in \"error_page\" directive"),
    ]) func badArgumentsAreRefused(_ directive: String, _ message: String) throws {
        let text = "events {} http { server { listen 127.0.0.1:1; \(directive) } }"
        let nodes = try ConfigParser().parse(text, file: "test.conf")
        #expect {
            try ConfigurationBuilder(prefix: "/tmp").build(nodes)
        } throws: { error in
            String(describing: error).hasPrefix(message)
        }
    }
}
