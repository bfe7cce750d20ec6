import CosocketTestSupport
import Foundation
import NIOCore
import Testing
@testable import CosocketServer

private func buf(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

/// Parses every complete head from `text` fed in one piece.
private func parseAll(_ text: String, parser: HTTPRequestParser = HTTPRequestParser()) throws -> (heads: [HTTPRequestHead], rest: String) {
    var p = parser
    var b = buf(text)
    var heads: [HTTPRequestHead] = []
    while let h = try p.parse(&b) { heads.append(h) }
    return (heads, String(buffer: b))
}

/// The error thrown for `text` (fed whole), or nil.
private func parseError(_ text: String, parser: HTTPRequestParser = HTTPRequestParser()) -> HTTPParseError? {
    var p = parser
    var b = buf(text)
    do {
        while try p.parse(&b) != nil {}
        return nil
    } catch {
        return error
    }
}

/// Feeds `text` in the given chunk sizes (cycled), consuming heads and skipping declared bodies.
/// Returns (method, uri, body) per request.
private func feed(_ text: String, chunks: [Int]) throws -> [(String, String, String)] {
    let bytes = Array(text.utf8)
    var p = HTTPRequestParser()
    var b = ByteBufferAllocator().buffer(capacity: 0)
    var out: [(String, String, String)] = []
    var pendingBody: (HTTPRequestHead, Int)? = nil
    var body = ""
    var offset = 0
    var k = 0
    func drain() throws {
        while true {
            if let (head, remaining) = pendingBody {
                let n = min(remaining, b.readableBytes)
                body += b.readString(length: n)!
                if remaining - n > 0 { pendingBody = (head, remaining - n); return }
                out.append((head.methodName, head.uri, body))
                pendingBody = nil
                body = ""
            }
            guard let head = try p.parse(&b) else { return }
            if let len = head.contentLength, len > 0 {
                pendingBody = (head, len)
            } else {
                out.append((head.methodName, head.uri, ""))
            }
        }
    }
    while offset < bytes.count {
        let n = min(max(1, chunks[k % chunks.count]), bytes.count - offset)
        k += 1
        b.writeBytes(bytes[offset..<offset + n])
        offset += n
        try drain()
    }
    #expect(pendingBody == nil)
    return out
}

private let getWithQuery =
    "GET /search/items?q=swift&page=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\r\n"
private let postWithBody =
    "POST /api/v1/upload HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}"
private let http10KeepAlive =
    "GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
private let bareLF =
    "HEAD /lf HTTP/1.1\nHost: h\n\n"
private let corpus = getWithQuery + postWithBody + http10KeepAlive + bareLF + "DELETE /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
private let expected: [(String, String, String)] = [
    ("GET", "/search/items?q=swift&page=2", ""),
    ("POST", "/api/v1/upload", "{\"a\":[1,2,3]}"),
    ("GET", "/old", ""),
    ("HEAD", "/lf", ""),
    ("DELETE", "/x?y", ""),
]

private func same(_ a: [(String, String, String)], _ b: [(String, String, String)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 && $0.2 == $1.2 }
}

@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {
    @Test func getWithQueryFields() throws {
        let (heads, rest) = try parseAll(getWithQuery)
        #expect(rest.isEmpty)
        let h = try #require(heads.first)
        #expect(h.method == .get)
        #expect(h.methodName == "GET")
        #expect(h.version == .http1_1)
        #expect(h.uri == "/search/items?q=swift&page=2")
        #expect(h.path == "/search/items")
        #expect(h.query == "q=swift&page=2")
        #expect(h.host == "example.com")
        #expect(h.keepAlive)
        #expect(h.contentLength == nil)
        #expect(!h.isChunked)
        #expect(h.headerCount == 3)
        #expect(h.headers.map(\.name) == ["Host", "User-Agent", "Accept"])
        #expect(h.bytes.readableBytes == getWithQuery.utf8.count)
        #expect(String(decoding: h.view(h.pathRange), as: UTF8.self) == "/search/items")
    }

    @Test func pathWithoutQueryAndEmptyQuery() throws {
        let h1 = try #require(try parseAll("GET /a/b HTTP/1.1\r\nHost: x\r\n\r\n").heads.first)
        #expect(h1.path == "/a/b")
        #expect(h1.query == nil)
        let h2 = try #require(try parseAll("GET /a? HTTP/1.1\r\nHost: x\r\n\r\n").heads.first)
        #expect(h2.path == "/a")
        #expect(h2.query == "")
        let h3 = try #require(try parseAll("GET /a?b?c HTTP/1.1\r\nHost: x\r\n\r\n").heads.first)
        #expect(h3.query == "b?c")
    }

    @Test func absoluteFormTarget() throws {
        let h = try #require(try parseAll("GET http://example.org:8080/p?x=1 HTTP/1.1\r\nHost: other\r\n\r\n").heads.first)
        // As nginx's $request_uri: without the scheme and authority.
        #expect(h.uri == "/p?x=1")
        #expect(h.path == "/p")
        #expect(h.query == "x=1")
        #expect(h.host == "example.org:8080")
        let h2 = try #require(try parseAll("GET http://e.org HTTP/1.1\r\n\r\n").heads.first)
        #expect(h2.path == "/")
        #expect(h2.host == "e.org")
    }

    @Test func argsEndAtAFragment() throws {
        let h = try #require(try parseAll("GET /p?a=1&b=2#frag HTTP/1.1\r\nHost: h\r\n\r\n").heads.first)
        #expect(h.query == "a=1&b=2")
        #expect(h.path == "/p")
    }

    @Test func pathIsDecodedAndNormalizedWhileTargetAndQueryStayRaw() throws {
        let h = try #require(try parseAll("GET /a%20b//c/./d/../e?x=%20/../y HTTP/1.1\r\nHost: h\r\n\r\n").heads.first)
        #expect(h.path == "/a b/c/e")
        #expect(h.uri == "/a%20b//c/./d/../e?x=%20/../y")
        #expect(h.query == "x=%20/../y")
        #expect(String(decoding: h.view(h.pathRange), as: UTF8.self) == "/a%20b//c/./d/../e")
        // Fed byte by byte, the same.
        var parser = HTTPRequestParser()
        var input = ByteBuffer()
        var split: HTTPRequestHead?
        for byte in "GET /%41/./b HTTP/1.1\r\nHost: h\r\n\r\n".utf8 where split == nil {
            input.writeInteger(byte)
            split = try parser.parse(&input)
        }
        #expect(split?.path == "/A/b")
        let absolute = try #require(try parseAll("GET http://e.org/a//b/.. HTTP/1.1\r\n\r\n").heads.first)
        #expect(absolute.path == "/a/")
    }

    @Test(arguments: ["/..", "/a/../..", "/%2e%2e", "/%", "/%zz", "/%00", "http://e.org/.."])
    func unnormalizablePathIsBadRequest(target: String) {
        let error = parseError("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(error == .invalidPath)
        #expect(error?.status == 400)
        // The request line is checked first, as in nginx.
        #expect(parseError("GET \(target) HTTP/2.0\r\n\r\n") == .versionNotSupported)
        // The parser is ready for the next request afterwards.
        var parser = HTTPRequestParser()
        var bytes = ByteBuffer(string: "GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(throws: HTTPParseError.invalidPath) { try parser.parse(&bytes) }
        var next = ByteBuffer(string: "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect((try? parser.parse(&next))??.path == "/plain")
    }

    @Test func hostsWithDotsDigitsAndPortsAreAccepted() throws {
        for host in ["a", "a.b", "a.b.", "127.0.0.1:8080", "x-y.example.com", "[::1]:80", "_srv.a"] {
            let heads = try parseAll("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n").heads
            #expect(heads.count == 1, "\(host)")
        }
    }

    @Test func headerLookupIsCaseInsensitive() throws {
        let h = try #require(try parseAll(
            "GET / HTTP/1.1\r\nhOsT: h\r\nX-Custom-Thing:   padded value \t\r\nx-custom-thing: second\r\nCOOKIE: a=b\r\n\r\n").heads.first)
        #expect(h.header(named: "host") == "h")
        #expect(h.header(named: "HOST") == "h")
        #expect(h.header(named: "x-CUSTOM-thing") == "padded value")
        #expect(h.headers(named: "X-Custom-Thing") == ["padded value", "second"])
        #expect(h.header(named: "Cookie") == "a=b")
        #expect(h.header(named: "missing") == nil)
        #expect(h.header(named: "Hos") == nil)
        #expect(h.fieldIndex(named: "cookie") == 3)
        #expect(h.headerName(at: 0) == "hOsT")
    }

    @Test func longValuesWithTabsAndUTF8() throws {
        let v = "a\tb c d e f g h i j k\tl m n o p — ü q r s t u v w x y z"
        let h = try #require(try parseAll("GET / HTTP/1.1\r\nHost: h\r\nX-V: \t \(v) \t \r\n\r\n").heads.first)
        #expect(h.header(named: "x-v") == v)
    }

    @Test func emptyHeaderValue() throws {
        let h = try #require(try parseAll("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n").heads.first)
        #expect(h.header(named: "x-empty") == "")
        #expect(h.header(named: "x-spaces") == "")
    }

    @Test func keepAliveRules() throws {
        func ka(_ s: String) throws -> Bool { try #require(try parseAll(s).heads.first).keepAlive }
        #expect(try ka("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(try !ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
        #expect(try !ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n"))
        #expect(try ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n"))
        #expect(try !ka("GET / HTTP/1.0\r\n\r\n"))
        #expect(try ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
        #expect(try !ka("GET / HTTP/1.0\r\nConnection: CLOSE\r\n\r\n"))
        // HTTP/1.x (x > 1) behaves like 1.1.
        let h = try #require(try parseAll("GET / HTTP/1.5\r\nHost: h\r\n\r\n").heads.first)
        #expect(h.version == .http1_1)
        #expect(h.keepAlive)
    }

    @Test func contentLengthAndChunked() throws {
        let h = try #require(try parseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234\r\n\r\n").heads.first)
        #expect(h.contentLength == 1234)
        #expect(!h.isChunked)
        let c = try #require(try parseAll("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n").heads.first)
        #expect(c.isChunked)
        #expect(c.contentLength == nil)
    }

    @Test func methods() throws {
        let cases: [(String, HTTPRequestHead.Method)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("OPTIONS", .options), ("PATCH", .patch), ("PROPFIND", .other), ("MY_METHOD-X", .other), ("GETX", .other),
        ]
        for (name, m) in cases {
            let h = try #require(try parseAll("\(name) / HTTP/1.1\r\nHost: h\r\n\r\n").heads.first)
            #expect(h.method == m)
            #expect(h.methodName == name)
        }
    }

    @Test func pipelinedRequestsLeaveRemainder() throws {
        let text = getWithQuery + getWithQuery + "GET /partial HTTP/1.1\r\nHo"
        let (heads, rest) = try parseAll(text)
        #expect(heads.count == 2)
        #expect(rest == "GET /partial HTTP/1.1\r\nHo")
        // Body bytes stay in the buffer.
        var p = HTTPRequestParser()
        var b = buf(postWithBody)
        let h = try #require(try p.parse(&b))
        #expect(h.contentLength == 13)
        #expect(String(buffer: b) == "{\"a\":[1,2,3]}")
    }

    /// The parser reuses its field storage for the next head: a head still alive keeps its own
    /// fields, and the next head sees none of them.
    @Test func successiveHeadsKeepTheirOwnFields() throws {
        var parser = HTTPRequestParser()
        var first = buf("GET /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\n\r\n")
        let a = try #require(try parser.parse(&first))
        var second = buf("GET /b HTTP/1.1\r\nHost: b\r\n\r\n")
        let b = try #require(try parser.parse(&second))
        #expect(a.headers.map(\.name) == ["Host", "X-One", "X-Two"])
        #expect(b.headers.map(\.name) == ["Host"])
        #expect(b.host == "b" && a.host == "a")
        // With no head left holding them, the storage is reused.
        var third = buf("GET /c HTTP/1.0\r\nX-Three: 3\r\n\r\n")
        let c = try #require(try parser.parse(&third))
        #expect(c.headers.map(\.name) == ["X-Three"])
        #expect(c.host == nil)
    }

    @Test func leadingEmptyLinesAreSkipped() throws {
        let (heads, rest) = try parseAll("\r\n\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n")
        #expect(heads.count == 1)
        #expect(heads[0].uri == "/")
        #expect(rest.isEmpty)
    }

    @Test func byteByByte() throws {
        #expect(same(try feed(corpus, chunks: [1]), expected))
    }

    @Test(arguments: 0..<200)
    func randomSplits(seed: Int) throws {
        var rng = SplitMix(seed: UInt64(seed))
        let chunks = (0..<16).map { _ in Int(rng.next() % 40) + 1 }
        #expect(same(try feed(corpus, chunks: chunks), expected))
    }

    @Test func incrementalScanIsResumed() throws {
        // A 30 KiB head fed byte by byte must stay fast (linear): bound by wall time loosely.
        var text = "GET / HTTP/1.1\r\nHost: h\r\n"
        for i in 0..<300 { text += "X-H\(i): " + String(repeating: "v", count: 80) + "\r\n" }
        text += "\r\n"
        #expect(text.utf8.count < 32 * 1024)
        let start = ContinuousClock.now
        let out = try feed(text, chunks: [1])
        #expect(out.count == 1)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func limits() throws {
        let longURI = "GET /" + String(repeating: "a", count: 8200) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(parseError(longURI) == .requestLineTooLong)
        #expect(HTTPParseError.requestLineTooLong.status == 414)
        // Also detected before the line ends.
        #expect(parseError("GET /" + String(repeating: "a", count: 9000)) == .requestLineTooLong)
        // Just under the line limit is fine.
        let okURI = "GET /" + String(repeating: "a", count: 8192 - 17) + " HTTP/1.1\r\nHost: h\r\n\r\n"
        #expect(parseError(okURI) == nil)
        let longHeader = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "b", count: 8200) + "\r\n\r\n"
        #expect(parseError(longHeader) == .headerTooLarge)
        #expect(parseError("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "b", count: 8200)) == .headerTooLarge)
        var many = "GET / HTTP/1.1\r\nHost: h\r\n"
        for i in 0..<5 { many += "X-\(i): " + String(repeating: "c", count: 7000) + "\r\n" }
        #expect(parseError(many + "\r\n") == .headerTooLarge)
        #expect(parseError(many) == .headerTooLarge)
        #expect(HTTPParseError.headerTooLarge.status == 400)
        // Configurable.
        #expect(parseError("GET /abcdefgh HTTP/1.1\r\n\r\n", parser: HTTPRequestParser(maxLineLength: 16)) == .requestLineTooLong)
    }

    @Test(arguments: [
        // Request line.
        ("get / HTTP/1.1\r\n\r\n", HTTPParseError.invalidRequestLine, 400),
        ("GET/ HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        (" GET / HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        ("GET\r\n\r\n", .invalidRequestLine, 400),
        ("GET /\r\n\r\n", .invalidRequestLine, 400),
        ("GET x HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        ("GET * HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        ("GET /a\u{7F}b HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        ("GET /a\tb HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        ("GET /a\rb HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        ("GET http:/x HTTP/1.1\r\n\r\n", .invalidRequestLine, 400),
        // Version.
        ("GET / HTTQ/1.1\r\n\r\n", .invalidVersion, 400),
        ("GET / http/1.1\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/1\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/1.\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/0.9\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/1.100\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/1.1x\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/1.1 x\r\n\r\n", .invalidVersion, 400),
        ("GET / HTTP/2.0\r\n\r\n", .versionNotSupported, 505),
        ("GET / HTTP/3.0\r\n\r\n", .versionNotSupported, 505),
        ("GET / HTTP/11.1\r\n\r\n", .versionNotSupported, 505),
        // Header lines.
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{01}b\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{00}b\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX\u{01}A: ab\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijklmnopq\u{7F}rstuvwxyz\r\n\r\n", .invalidHeaderLine, 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijklmnopqrstuvwxy\u{1F}z\r\n\r\n", .invalidHeaderLine, 400),
        // Host.
        ("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", .missingHost, 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .duplicateHost, 400),
        ("GET / HTTP/1.1\r\nHost:\r\n\r\n", .invalidHost, 400),
        ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .invalidHost, 400),
        ("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", .invalidHost, 400),
        ("GET / HTTP/1.1\r\nHost: .a\r\n\r\n", .invalidHost, 400),
        ("GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", .invalidHost, 400),
        ("GET / HTTP/1.1\r\nHost: a.b..\r\n\r\n", .invalidHost, 400),
        // Body framing.
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12a\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", .invalidContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .duplicateContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", .duplicateContentLength, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithChunked, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", .duplicateTransferEncoding, 400),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10, 400),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding, 501),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", .unsupportedTransferEncoding, 501),
        // Methods nginx refuses.
        ("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", .methodNotAllowed, 405),
        ("CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", .invalidRequestLine, 400),
        ("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", .methodNotAllowed, 405),
    ])
    func errors(text: String, error: HTTPParseError, status: Int) {
        #expect(parseError(text) == error)
        #expect(error.status == status)
        #expect(!error.message.isEmpty)
        // Same result when fed byte by byte.
        #expect((try? feed(text, chunks: [1])) == nil)
    }

    @Test func invalidHeaderNamesIgnoredLikeNginx() throws {
        let text = "GET / HTTP/1.1\r\nHost: h\r\nX_Under: 1\r\nX@At: 2\r\nOk: 3\r\n\r\n"
        let h = try #require(try parseAll(text).heads.first)
        #expect(h.headers.map(\.name) == ["Host", "Ok"])
        let u = try #require(try parseAll(text, parser: HTTPRequestParser(underscoresInHeaders: true)).heads.first)
        #expect(u.headers.map(\.name) == ["Host", "X_Under", "Ok"])
        #expect(parseError(text, parser: HTTPRequestParser(ignoreInvalidHeaders: false)) == .invalidHeaderLine)
    }

    @Test func parserIsReusableAfterError() throws {
        var p = HTTPRequestParser()
        var b = buf("GET / HTTP/2.0\r\n\r\n")
        #expect(throws: HTTPParseError.versionNotSupported) { try p.parse(&b) }
        var ok = buf(getWithQuery)
        #expect(try p.parse(&ok)?.uri == "/search/items?q=swift&page=2")
    }

    /// Prints ns/op; never asserts timing. Set COSOCKET_BENCH=1000000 and build release for a real figure:
    /// `swift test -c release -Xswiftc -enable-testing --filter benchmark`.
    @Test func benchmark() throws {
        let iterations = Int(ProcessInfo.processInfo.environment["COSOCKET_BENCH"] ?? "") ?? 1000
        let head = "GET /api/v1/users/12345/profile?fields=name,email,avatar&lang=en HTTP/1.1\r\n"
            + "Host: api.example.com\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/126.0\r\n"
            + "Accept: application/json, text/plain, */*\r\n"
            + "Accept-Language: en-US,en;q=0.5\r\n"
            + "Accept-Encoding: gzip, deflate, br\r\n"
            + "Connection: keep-alive\r\n"
            + "Cookie: session=abc123def456\r\n\r\n"
        let template = buf(head)
        var p = HTTPRequestParser()
        var sink = 0
        let start = ContinuousClock.now
        for _ in 0..<iterations {
            var b = template
            if let h = try p.parse(&b) { sink &+= h.headerCount &+ (h.keepAlive ? 1 : 0) }
        }
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print("HTTPRequestParser: \(head.utf8.count)-byte GET head, \(iterations) parses, \(ns / Double(iterations)) ns/op (sink \(sink))")
        #expect(sink == iterations * 8)
    }
}

@Suite("ChunkedBodyDecoder")
struct ChunkedBodyDecoderTests {
    /// Decodes `text` fed in `chunks` sizes; returns (body, rest-after-end).
    private func decode(_ text: String, chunks: [Int] = [Int.max]) throws(HTTPParseError) -> (String, String)? {
        let bytes = Array(text.utf8)
        var d = ChunkedBodyDecoder()
        var b = ByteBufferAllocator().buffer(capacity: 0)
        var body = ""
        var offset = 0
        var k = 0
        while true {
            while let part = try d.next(&b) {
                switch part {
                case .data(let slice): body += String(buffer: slice)
                case .end:
                    b.writeBytes(bytes[offset...])
                    return (body, String(buffer: b))
                }
            }
            if offset == bytes.count { return nil }
            let n = min(chunks[k % chunks.count], bytes.count - offset)
            k += 1
            b.writeBytes(bytes[offset..<offset + n])
            offset += n
        }
    }

    private let sample = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\nGET / HTTP/1.1\r\n"

    @Test func wholeAndSplit() throws {
        let want = ("Wikipedia in\r\n\r\nchunks.", "GET / HTTP/1.1\r\n")
        let whole = try #require(try decode(sample))
        #expect(whole == want)
        let bytewise = try #require(try decode(sample, chunks: [1]))
        #expect(bytewise == want)
        for seed in 0..<50 {
            var rng = SplitMix(seed: UInt64(seed))
            let chunks = (0..<8).map { _ in Int(rng.next() % 12) + 1 }
            let got = try #require(try decode(sample, chunks: chunks))
            #expect(got == want)
        }
    }

    @Test func bareLFAndUppercaseHex() throws {
        let got = try #require(try decode("A\nabcdefghij\n0\n\n"))
        #expect(got.0 == "abcdefghij")
    }

    @Test func incompleteNeedsMore() throws {
        #expect(try decode("5\r\nab") == nil)
        #expect(try decode("0\r\n") == nil)
    }

    @Test(arguments: [
        "\r\n", "x\r\n", "5\r\nabcdeX\r\n", "5\r\nabcde\rX", "5\rX", "5\u{01}\r\n",
        "FFFFFFFFFFFFFFFFFF\r\n", "0\r\n\rX",
    ])
    func errors(text: String) {
        #expect(throws: HTTPParseError.invalidChunkedBody) { _ = try decode(text) }
        #expect(HTTPParseError.invalidChunkedBody.status == 400)
    }

    @Test func overlongTrailersRejected() {
        let text = "0\r\nX: " + String(repeating: "t", count: 40_000) + "\r\n\r\n"
        #expect(throws: HTTPParseError.invalidChunkedBody) { _ = try decode(text) }
    }
}
