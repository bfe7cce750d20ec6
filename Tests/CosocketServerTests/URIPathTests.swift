import Testing

@testable import CosocketServer

/// Raw path → `$uri`, each pair checked against Debian's nginx (1.22, merge_slashes on) by
/// sending the path as is and printing `ngx.var.uri`. nil: nginx answers 400.
@Suite struct URIPathTests {
    private static func normalized(_ raw: String) -> String? {
        URIPath.normalize(Array(raw.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: [
        // Unchanged.
        ("/", "/"),
        ("/a/b", "/a/b"),
        ("/a/b/", "/a/b/"),
        ("/.a", "/.a"),
        ("/..a", "/..a"),
        ("/a.", "/a."),
        ("/a..", "/a.."),
        ("/a/...", "/a/..."),
        ("/a+b", "/a+b"),
        // Percent-decoding (either case of hex digits).
        ("/a%20b", "/a b"),
        ("/%61%62", "/ab"),
        ("/%7e%7E", "/~~"),
        // Merged slashes.
        ("//a///b//", "/a/b/"),
        ("//", "/"),
        // "." segments.
        ("/a/./b", "/a/b"),
        ("/a/.", "/a/"),
        ("/.", "/"),
        ("/./././", "/"),
        // ".." segments.
        ("/a/..", "/"),
        ("/a/b/..", "/a/"),
        ("/a/b/../c", "/a/c"),
        ("/a/b/../../c", "/c"),
        ("/a//b/..", "/a/"),
        ("/a/b/.././../c/./d", "/c/d"),
        // Decoded '/' and '.' count as sent: they separate segments and make dot segments.
        ("/a%2fb", "/a/b"),
        ("/a%2F%2Fb", "/a/b"),
        ("/a/%2e/b", "/a/b"),
        ("/a/%2e", "/a/"),
        ("/a/.%2e/b", "/b"),
        ("/a/b/%2E%2E", "/a/"),
        ("/x/..%2f", "/"),
        // Decoded '%', '#' and '?' are plain data: no second decoding, no fragment, no query.
        ("/%25", "/%"),
        ("/%2541", "/%41"),
        ("/a%23b", "/a#b"),
        ("/a%3fb", "/a?b"),
        ("/a%3Fb", "/a?b"),
        ("/%2e%25", "/.%"),
        // A raw '#' ends the path (a fragment), also after a dot segment.
        ("/a#frag", "/a"),
        ("/a/.#x", "/a/"),
        ("/a/b/..#x", "/a/"),
        ("/#", "/"),
    ])
    func normalizesAsNginx(raw: String, expected: String) {
        #expect(Self.normalized(raw) == expected)
        // The scan may flag a path that turns out unchanged ("/.a"), never miss one that changes.
        #expect(URIPath.needsNormalization(Array(raw.utf8)) || raw == expected)
    }

    @Test(arguments: [
        // ".." above the root, however it is spelt.
        "/..", "/../a", "/a/../..", "/a/b/../../..", "/%2e%2e/", "/.%2E", "/%2f..", "/a%2f..%2f..%2fb",
        // Malformed escapes.
        "/%", "/%4", "/a%", "/%zz", "/%4g", "/%g4", "/% 1",
        // A decoded NUL.
        "/%00", "/a%00b",
    ])
    func rejectsAsNginx(raw: String) {
        #expect(Self.normalized(raw) == nil)
        #expect(URIPath.needsNormalization(Array(raw.utf8)))
    }

    @Test func decodedBytesAreKeptAsBytes() {
        #expect(URIPath.normalize(Array("/%C3%A9".utf8)) == [0x2F, 0xC3, 0xA9])
        // Not valid UTF-8: kept as the byte nginx keeps.
        #expect(URIPath.normalize(Array("/%FF".utf8)) == [0x2F, 0xFF])
        #expect(URIPath.normalize(Array("/%01".utf8)) == [0x2F, 0x01])
    }

    @Test func emptyPathIsTheRoot() {
        // An absolute-form target without a path ("GET http://host HTTP/1.1").
        #expect(URIPath.needsNormalization([UInt8]()))
        #expect(URIPath.normalize([UInt8]()) == Array("/".utf8))
    }

    @Test func onlyPercentHashDoubleSlashAndSlashDotNeedWork() {
        for plain in ["/", "/a/b.c/d", "/a-b_c~d!$&'()*+,;=:@", "/a.b/c..d/e...", "/\u{E9}"] {
            #expect(!URIPath.needsNormalization(Array(plain.utf8)), "\(plain)")
        }
        for complex in ["/%41", "/a#", "//", "/a//", "/.", "/a/.b"] {
            #expect(URIPath.needsNormalization(Array(complex.utf8)), "\(complex)")
        }
    }

    @Test func acceptsAnyByteCollection() {
        let raw = Array("x/a/../b%21".utf8)
        #expect(URIPath.normalize(raw[1...]) == Array("/b!".utf8))
        #expect(URIPath.normalize("/a//b".utf8) == Array("/a/b".utf8))
    }
}
