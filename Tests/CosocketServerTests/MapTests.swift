import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `map`: `Fixtures/maps.conf` (the http block's contents), each request's status and body as
/// the reference answered them (`ref-nginx` on the same file, kept in `maps.expected`).
@Suite struct MapTests {
    static let requests: [(path: String, host: String)] = [
        ("/?k=foo", "a.example.com"), ("/?k=Bar", "example.com"), ("/?k=default", "www.test"), ("/?k=zzz", "x.example.org"),
        ("/abc/42?k=foo", "example.org."), ("/UPPER/x", "nothing"), ("/return?k=foo", "b.example.com"), ("/if?k=foo", "x"),
        ("/if", "x"), ("/volatile?v=1", "x"), ("/cached?k=foo", "x"), ("/loop", "x"),
    ]

    /// Exact strings ignoring case (`\default` escaped), `hostnames` masks (`*.x`, `.x`, `x.*`,
    /// a trailing dot dropped), regexes with named and numbered captures (read by the value and
    /// by the request after it), values with variables, a map of maps, `volatile` and the
    /// cached value otherwise, maps read by `return` and `if`, and a map whose source is
    /// itself (nginx's cycle error, an empty value).
    @Test func answersAsTheReference() throws {
        let http = try String(contentsOfFile: SubrequestTests.fixtures.appendingPathComponent("maps.conf").path, encoding: .utf8)
        let expected = try String(contentsOfFile: SubrequestTests.fixtures.appendingPathComponent("maps.expected").path, encoding: .utf8)
        let server = try TestServer("worker_processes 1; events {} http {\n\(http)\n}")
        let sections = SubrequestTests.sections(of: expected)
        #expect(sections.count == Self.requests.count)
        for (request, section) in zip(Self.requests, sections) {
            let client = HTTPClient(port: server.port)
            client.send("GET \(request.path) HTTP/1.1\r\nHost: \(request.host)\r\nConnection: close\r\n\r\n")
            let response = client.readResponse() ?? HTTPResponse.none
            client.close()
            #expect("== \(request.path) \(request.host)\n\(response.status)\n\(response.body)" == section)
        }
        #expect(server.log.contains("cycle while evaluating variable \"loop\""))
    }

    /// Refused in nginx's words (checked with `ref-nginx -t`).
    @Test(arguments: [
        ("map $uri $a { default 1; default 2; }", "duplicate default map parameter"),
        ("map $uri $a { x; }", "invalid number of the map parameters"),
        ("map $uri $a { x 1 2; }", "invalid number of the map parameters"),
        ("map $uri { }", "invalid number of arguments in \"map\" directive"),
        ("map $uri $a { x 1; X 2; }", "conflicting parameter \"x\""),
        ("map $uri a { x 1; }", "invalid variable name \"a\""),
        ("map $uri $a { ~[ 1; }", "pcre2_compile() failed: missing terminating ] for character class in \"[\""),
    ]) func badMapsAreRefused(_ directive: String, _ message: String) throws {
        let nodes = try ConfigParser().parse("events {} http { \(directive) server { listen 127.0.0.1:1; } }", file: "test.conf")
        #expect {
            try ConfigurationBuilder(prefix: "/tmp").build(nodes)
        } throws: { error in
            String(describing: error).hasPrefix(message)
        }
    }
}
