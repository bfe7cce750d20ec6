import Testing

@testable import CosocketLua

// Tests for NgxCodec (Sources/CosocketLua/Codec). Expected values come from the reference
// implementation (see `CodecRef` at the end of the file and the "reference:" comments inline),
// or from the RFCs where noted.

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    s.reserveCapacity(bytes.count * 2)
    for x in bytes {
        s.append(digits[Int(x >> 4)])
        s.append(digits[Int(x & 15)])
    }
    return s
}

private func unhex(_ s: String) -> [UInt8] {
    let u = Array(s.utf8)
    func v(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57 }
    return stride(from: 0, to: u.count, by: 2).map { v(u[$0]) << 4 | v(u[$0 + 1]) }
}

private let all256: [UInt8] = (0...255).map { UInt8($0) }

/// 1 MiB of (i * 7 + 3) % 256, the same bytes the reference hashed.
private let mebibyte: [UInt8] = (0..<1_048_576).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

@Suite struct CodecBase64Tests {
    @Test func encodeRFC4648Vectors() {
        // reference: ngx.encode_base64(s) and ngx.encode_base64(s, true)
        let cases: [(String, String, String)] = [
            ("", "", ""), ("f", "Zg==", "Zg"), ("fo", "Zm8=", "Zm8"), ("foo", "Zm9v", "Zm9v"),
            ("foob", "Zm9vYg==", "Zm9vYg"), ("fooba", "Zm9vYmE=", "Zm9vYmE"), ("foobar", "Zm9vYmFy", "Zm9vYmFy"),
        ]
        for (input, padded, unpadded) in cases {
            #expect(NgxCodec.encodeBase64(b(input)) == b(padded))
            #expect(NgxCodec.encodeBase64(b(input), noPadding: true) == b(unpadded))
            #expect(NgxCodec.base64EncodedLength(input.utf8.count) == padded.utf8.count)
            #expect(NgxCodec.base64EncodedLength(input.utf8.count, noPadding: true) == unpadded.utf8.count)
        }
        // reference: ngx.encode_base64("\251\255\254") == "+//+"
        #expect(NgxCodec.encodeBase64([0xfb, 0xff, 0xfe]) == b("+//+"))
    }

    @Test func encodeAllBytes() {
        #expect(NgxCodec.encodeBase64(all256) == b(CodecRef.base64All))
        #expect(NgxCodec.encodeBase64(Array(all256[0..<254]), noPadding: true) == b(CodecRef.base64AllNoPadding254))
        all256.withUnsafeBytes { #expect(NgxCodec.encodeBase64($0) == b(CodecRef.base64All)) }
    }

    // reference: ngx.decode_base64(input), nil where the reference returned nil
    @Test(arguments: [
        ("", ""), ("Zg==", "66"), ("Zg=", "66"), ("Zg", "66"), ("Z", nil), ("Zm9v", "666f6f"),
        ("Zm9vYg", "666f6f62"), ("Zm9vYg=", "666f6f62"), ("Zm9vYg==", "666f6f62"), ("Zm9vYmE", "666f6f6261"),
        ("Zm9vYmE=", "666f6f6261"), ("Zm9v YmFy", nil), ("Zm9v\nYmFy", nil), (" Zm9v", nil), ("Zm9v ", nil),
        ("Zm9v=", "666f6f"), ("Zm9v==", "666f6f"), ("Zg===", "66"), ("Zg==Zg==", "66"), ("Zh==", "66"),
        ("Zm9=", "666f"), ("Zm8=", "666f"), ("+/+/", "fbffbf"), ("-_-_", nil), ("Zm9v!", nil), ("=", ""),
        ("==", ""), ("====", ""), ("Zg=x", "66"), ("Z===", nil), ("Zm9vY", nil), ("Zm9vYmFy\r\n", nil),
        ("+/8", "fbff"), ("+/9", "fbff"), ("Zm9vYmFyZg=", "666f6f62617266"), ("A", nil), ("AA", "00"),
        ("AAA", "0000"), ("AAAA", "000000"), ("AB==", "00"), ("AAB=", "0000"), ("AAC=", "0000"),
        ("Zg=!", "66"), ("Zg= ", "66"), ("Zg!=", nil), ("Zm9vYmFy====", "666f6f626172"), ("Zg\0==", nil),
    ] as [(String, String?)])
    func decode(input: String, expectedHex: String?) {
        let decoded = NgxCodec.decodeBase64(b(input))
        #expect(decoded.map(hex) == expectedHex)
        b(input).withUnsafeBytes { #expect(NgxCodec.decodeBase64($0).map(hex) == expectedHex) }
    }

    @Test func roundTripsEveryLength() {
        // reference: decode_base64(encode_base64(all, np)) == all for both padding modes
        #expect(NgxCodec.decodeBase64(b(CodecRef.base64All)) == all256)
        for n in 0...300 {
            let input = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) }
            #expect(NgxCodec.decodeBase64(NgxCodec.encodeBase64(input)) == input)
            #expect(NgxCodec.decodeBase64(NgxCodec.encodeBase64(input, noPadding: true)) == input)
        }
    }

    @Test func oneMebibyte() {
        let encoded = NgxCodec.encodeBase64(mebibyte)
        #expect(encoded.count == 1_398_104)
        #expect(NgxCodec.md5Hex(encoded) == b(CodecRef.mebibyte.4))
        #expect(NgxCodec.decodeBase64(encoded) == mebibyte)
    }
}

@Suite struct CodecDigestTests {
    @Test func rfc1321SuiteAndFIPSVectors() {
        for (input, md5, sha1, crc) in CodecRef.digestSuite {
            #expect(NgxCodec.md5Hex(b(input)) == b(md5), "md5 \(input)")
            #expect(NgxCodec.md5(b(input)) == unhex(md5), "md5_bin \(input)")
            #expect(hex(NgxCodec.sha1(b(input))) == sha1, "sha1 \(input)")
            #expect(NgxCodec.crc32Short(b(input)) == crc, "crc32_short \(input)")
            #expect(NgxCodec.crc32Long(b(input)) == crc, "crc32_long \(input)")
        }
        // FIPS 180 / RFC 3174 vectors (confirmed on the reference with ngx.sha1_bin)
        #expect(hex(NgxCodec.sha1(b("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
            == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(NgxCodec.sha1(b("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")))
            == "a49b2446a02c645bf419f995b67091253a04a259")
        // reference: ngx.crc32_long("The quick brown fox jumps over the lazy dog") (0x414FA339)
        #expect(NgxCodec.crc32Long(b("The quick brown fox jumps over the lazy dog")) == 1_095_738_169)
        #expect(NgxCodec.crc32Short(b("hello")) == 907_060_870)
        #expect(NgxCodec.crc32Short([UInt8](repeating: 0xff, count: 100)) == 64_128_641)
        // reference: ngx.crc32_long("\255\255\255\255") == 4294967295 (unsigned, full 32-bit range)
        #expect(NgxCodec.crc32Long([0xff, 0xff, 0xff, 0xff]) == 4_294_967_295)
        #expect(NgxCodec.crc32Short([0xff, 0xff, 0xff, 0xff]) == 4_294_967_295)
    }

    @Test func paddingEdgeLengths() {
        for (n, md5, sha1, crc) in CodecRef.edgeLengths {
            let input = [UInt8](repeating: UInt8(ascii: "a"), count: n)
            #expect(NgxCodec.md5Hex(input) == b(md5), "md5 len \(n)")
            #expect(hex(NgxCodec.sha1(input)) == sha1, "sha1 len \(n)")
            #expect(NgxCodec.crc32Long(input) == crc, "crc32 len \(n)")
            #expect(NgxCodec.crc32Short(input) == crc, "crc32 len \(n)")
        }
    }

    @Test func largeInputs() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(NgxCodec.md5Hex(million) == b(CodecRef.millionA.0))
        #expect(hex(NgxCodec.sha1(million)) == CodecRef.millionA.1)
        #expect(NgxCodec.crc32Long(million) == CodecRef.millionA.2)
        #expect(NgxCodec.md5Hex(mebibyte) == b(CodecRef.mebibyte.0))
        #expect(hex(NgxCodec.sha1(mebibyte)) == CodecRef.mebibyte.1)
        #expect(NgxCodec.crc32Long(mebibyte) == CodecRef.mebibyte.2)
        #expect(NgxCodec.crc32Short(mebibyte) == CodecRef.mebibyte.3)
        #expect(NgxCodec.md5Hex(all256) == b(CodecRef.all256.0))
        #expect(hex(NgxCodec.sha1(all256)) == CodecRef.all256.1)
        #expect(NgxCodec.crc32Short(all256) == CodecRef.all256.2)
        #expect(NgxCodec.crc32Long(all256) == CodecRef.all256.2)
    }

    @Test func crc32ShortAndLongAgreeOnEveryPrefixLength() {
        for n in 0...200 {
            let input = Array(mebibyte[0..<n])
            #expect(NgxCodec.crc32Short(input) == NgxCodec.crc32Long(input))
        }
        #expect(NgxCodec.crc32Long([]) == 0)
    }

    @Test func hmacSHA1() {
        // reference: ngx.hmac_sha1(key, msg)
        #expect(hex(NgxCodec.hmacSHA1(key: b("key"), message: b("The quick brown fox jumps over the lazy dog")))
            == "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9")
        #expect(hex(NgxCodec.hmacSHA1(key: [UInt8](repeating: UInt8(ascii: "k"), count: 100), message: b("x")))
            == "f0f06edc45a0697855c766dd91a235f449aaa384")
        #expect(hex(NgxCodec.hmacSHA1(key: [], message: [])) == "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d")
        // RFC 2202 test case 2
        #expect(hex(NgxCodec.hmacSHA1(key: b("Jefe"), message: b("what do ya want for nothing?")))
            == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }
}

@Suite struct CodecURITests {
    @Test func escapeAllBytesEveryType() {
        for type in 0...4 {
            #expect(NgxCodec.escapeURI(all256, type: type) == b(CodecRef.escapeAll[type]), "type \(type)")
        }
        #expect(hex(NgxCodec.escapeURI(all256, type: 5)) == CodecRef.escapeAllType5Hex)
        #expect(hex(NgxCodec.escapeURI(all256, type: 6)) == CodecRef.escapeAllType5Hex)
        #expect(NgxCodec.escapeURI(all256) == b(CodecRef.escapeAll[2]))  // default type is 2
        for type in NgxCodec.escapeURITypeRange {
            all256.withUnsafeBytes {
                #expect(NgxCodec.escapedURILength($0, type: type) == NgxCodec.escapeURI($0, type: type).count)
            }
        }
    }

    @Test func escapeStrings() {
        // reference: ngx.escape_uri(s) and ngx.escape_uri(s, 0)
        let s = "Hello World! /path?q=1&r=2#frag ~user@host"
        #expect(NgxCodec.escapeURI(b(s)) == b("Hello%20World!%20%2Fpath%3Fq%3D1%26r%3D2%23frag%20~user%40host"))
        #expect(NgxCodec.escapeURI(b(s), type: 0) == b("Hello%20World!%20/path%3Fq=1&r=2%23frag%20~user@host"))
        #expect(NgxCodec.escapeURI(b(" "), type: 1) == b("%20"))
        #expect(NgxCodec.escapeURI(b("a+b"), type: 1) == b("a%2Bb"))
        #expect(NgxCodec.escapeURI([0xab, 0x2f]) == b("%AB%2F"))
        #expect(NgxCodec.escapeURI(b("中")) == b("%E4%B8%AD"))
        #expect(NgxCodec.escapeURI([]) == [])
        var out = b("x=")
        b("a b").withUnsafeBytes { NgxCodec.escapeURI($0, appendingTo: &out) }
        #expect(out == b("x=a%20b"))
    }

    // reference: ngx.unescape_uri(input)
    @Test(arguments: [
        ("a+b", "a b"), ("%zz", "%zz"), ("%", "%"), ("%4", "%4"), ("%4g", "%4g"), ("%41", "A"),
        ("%4a%4A", "JJ"), ("%%41", "%A"), ("%%", "%%"), ("%g1", "%g1"), ("a%2", "a%2"),
        ("a?b%3Fc", "a?b?c"), ("%00x", "\0x"), ("%2B", "+"), ("%+", "% "), ("%1+", "%1 "),
        ("%%%41", "%%A"), ("%E4%B8%AD", "中"), ("%4%41", "%4A"), ("%x%41", "%xA"), ("", ""),
    ])
    func unescape(input: String, expected: String) {
        #expect(NgxCodec.unescapeURI(b(input)) == b(expected))
    }

    @Test func unescapeAllBytesAndRoundTrips() {
        #expect(hex(NgxCodec.unescapeURI(all256)) == CodecRef.unescapeAllHex)
        // reference: unescape_uri(escape_uri(all, type)) == all only for types 1 and 2; type 0/3
        // leave '+' alone (it unescapes to a space), types 4-6 leave '%' alone
        for type in NgxCodec.escapeURITypeRange {
            let roundTrips = NgxCodec.unescapeURI(NgxCodec.escapeURI(all256, type: type)) == all256
            #expect(roundTrips == (type == 1 || type == 2), "type \(type)")
        }
        var out = b(">")
        b("%41+").withUnsafeBytes { NgxCodec.unescapeURI($0, appendingTo: &out) }
        #expect(out == b(">A "))
    }
}

@Suite struct CodecSQLTests {
    @Test func quoteAllBytes() {
        #expect(hex(NgxCodec.quoteSQLString(all256)) == CodecRef.quoteSQLAllHex)
    }

    @Test func quoteStrings() {
        // reference: ngx.quote_sql_str
        #expect(NgxCodec.quoteSQLString([]) == b("''"))
        #expect(NgxCodec.quoteSQLString(b(#"it's "x" \ y"#)) == b(#"'it\'s \"x\" \\ y'"#))
        #expect(NgxCodec.quoteSQLString(b("123")) == b("'123'"))
        #expect(hex(NgxCodec.quoteSQLString([0, 8, 10, 13, 9, 0x1a])) == "275c305c625c6e5c725c745c5a27")
        #expect(NgxCodec.quoteSQLString(b("50%_off")) == b("'50%_off'"))
    }
}

@Suite struct CodecArgsTests {
    private typealias Pairs = [(key: [UInt8], value: [UInt8]?)]

    private func pairs(_ list: [(String, String?)]) -> Pairs {
        list.map { (key: b($0.0), value: $0.1.map(b)) }
    }

    @Test func encodeArgs() {
        // reference: ngx.encode_args with single-key tables (so the order is fixed)
        #expect(NgxCodec.encodeArgs(pairs([("foo", "a b")])) == b("foo=a%20b"))
        #expect(NgxCodec.encodeArgs(pairs([("bar", nil)])) == b("bar"))  // {bar = true}
        #expect(NgxCodec.encodeArgs([]) == [])  // {baz = false}, {m = {}}, {m = {false}}, {}
        // {m = {1, "x", true, false, "y"}}: false skipped by the binding
        #expect(NgxCodec.encodeArgs(pairs([("m", "1"), ("m", "x"), ("m", nil), ("m", "y")])) == b("m=1&m=x&m&m=y"))
        #expect(NgxCodec.encodeArgs(pairs([("a=b", "c&d+e")])) == b("a%3Db=c%26d%2Be"))
        #expect(NgxCodec.encodeArgs(pairs([("n", "3.5")])) == b("n=3.5"))
        #expect(NgxCodec.encodeArgs(pairs([("n", "1e+20")])) == b("n=1e%2B20"))  // {n = 1e20}
        #expect(NgxCodec.encodeArgs(pairs([("", "v")])) == b("=v"))
        #expect(NgxCodec.encodeArgs(pairs([("k", "")])) == b("k="))
        #expect(NgxCodec.encodeArgs(pairs([("m", nil)])) == b("m"))  // {m = {true}}
        #expect(NgxCodec.encodeArgs(pairs([("a b", nil)])) == b("a%20b"))
        #expect(NgxCodec.encodeArgs(pairs([("k", "~!*'()")])) == b("k=~!*'()"))
        #expect(NgxCodec.encodeArgs(pairs([("k", "中")])) == b("k=%E4%B8%AD"))
        #expect(NgxCodec.encodeArgs([(key: b("k"), value: all256)]) == b(CodecRef.encodeArgsAll))
        #expect(NgxCodec.encodeArgs([(key: all256, value: nil)]) == b(CodecRef.encodeArgsAllKey))
        var encoder = NgxCodec.ArgsEncoder()
        b("k 1").withUnsafeBytes { k in b("v&").withUnsafeBytes { v in encoder.append(key: k, value: v) } }
        b("flag").withUnsafeBytes { encoder.append(key: $0, value: nil) }
        #expect(encoder.bytes == b("k%201=v%26&flag"))
    }

    private func decoded(_ s: String, maxArgs: Int = NgxCodec.defaultMaxArgs) -> [(String, String?)] {
        NgxCodec.decodeArgs(b(s), maxArgs: maxArgs).map {
            (String(decoding: $0.key, as: UTF8.self), $0.value.map { String(decoding: $0, as: UTF8.self) })
        }
    }

    private func same(_ a: [(String, String?)], _ e: [(String, String?)]) -> Bool {
        a.count == e.count && zip(a, e).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    @Test func decodeArgs() {
        // reference: ngx.decode_args(s[, max]) (table contents; repeated keys become lists in this order)
        #expect(same(decoded("a=1&b=2"), [("a", "1"), ("b", "2")]))
        #expect(same(decoded("a=1&a=2&a=3"), [("a", "1"), ("a", "2"), ("a", "3")]))  // a = {1, 2, 3}
        #expect(same(decoded("a&b=&c"), [("a", nil), ("b", ""), ("c", nil)]))
        #expect(same(decoded("=v&k"), [("k", nil)]))
        #expect(same(decoded("a=b=c"), [("a", "b=c")]))
        #expect(same(decoded("a+b=c+d%20e"), [("a b", "c d e")]))
        #expect(same(decoded("&&&a=1&&"), [("a", "1")]))
        #expect(same(decoded("a=1&a&a="), [("a", "1"), ("a", nil), ("a", "")]))  // a = {"1", true, ""}
        #expect(same(decoded("a=1&b=2&c=3", maxArgs: 2), [("a", "1"), ("b", "2")]))
        #expect(same(decoded("&&&&a=1", maxArgs: 2), []))  // empty pairs count toward max_args
        #expect(same(decoded("a=1&b=2", maxArgs: 0), [("a", "1"), ("b", "2")]))
        #expect(same(decoded("a=1&b=2", maxArgs: -1), [("a", "1"), ("b", "2")]))
        #expect(same(decoded("a=1&b=2", maxArgs: 1), [("a", "1")]))
        #expect(same(decoded(""), []))
        #expect(same(decoded("%61=%62"), [("a", "b")]))
        #expect(same(decoded("%3D=%26"), [("=", "&")]))
        #expect(same(decoded("a=1&b=2&c", maxArgs: 2), [("a", "1"), ("b", "2")]))
        #expect(same(decoded("a&b&c", maxArgs: 3), [("a", nil), ("b", nil), ("c", nil)]))
        #expect(same(decoded("a=1;b=2"), [("a", "1;b=2")]))
        #expect(same(decoded("%=x"), [("%", "x")]))
        #expect(same(decoded("a=%zz"), [("a", "%zz")]))
        #expect(same(decoded("=&="), []))
        #expect(same(decoded("=", maxArgs: 1), []))
        #expect(same(decoded("a=1&=&b=2", maxArgs: 2), [("a", "1")]))
        #expect(same(decoded("a=1&a=2&a=3", maxArgs: 2), [("a", "1"), ("a", "2")]))
        // reference: decode_args("a%00b=c%zz%2") has key "a\0b" with value "c%zz%2"
        let binary = NgxCodec.decodeArgs(b("a%00b=c%zz%2"))
        #expect(binary.count == 1 && binary[0].key == [0x61, 0, 0x62] && binary[0].value == b("c%zz%2"))
    }

    @Test func decodeArgsDefaultLimitIs100() {
        // reference: decode_args of k1=1&...&k105=105 keeps k1...k100
        let query = (1...105).map { "k\($0)=\($0)" }.joined(separator: "&")
        let result = decoded(query)
        #expect(result.count == 100)
        #expect(result.last!.0 == "k100" && result.last!.1 == "100")
        #expect(decoded(query, maxArgs: 0).count == 105)
    }

    @Test func decodeRoundTripsAllBytes() {
        // reference: decode_args(encode_args({k = all})).k == all
        let result = NgxCodec.decodeArgs(b(CodecRef.encodeArgsAll))
        #expect(result.count == 1 && result[0].key == b("k") && result[0].value == all256)
        let keyOnly = NgxCodec.decodeArgs(b(CodecRef.encodeArgsAllKey))
        #expect(keyOnly.count == 1 && keyOnly[0].key == all256 && keyOnly[0].value == nil)
    }

    @Test func forEachArgVisitsInOrderWithoutCopies() {
        var seen: [String] = []
        b("x=1&y&x=%32").withUnsafeBytes { raw in
            NgxCodec.forEachArg(in: raw) { key, value in
                seen.append(String(decoding: key, as: UTF8.self) + (value.map { "=" + String(decoding: $0, as: UTF8.self) } ?? "!"))
            }
        }
        #expect(seen == ["x=1", "y!", "x=2"])
    }
}

// Values in `CodecRef` were produced by the reference implementation (nginx 1.22.1 +
// lua-nginx-module 0.10.23 with lua-resty-core) via /work/shared/tools/ref-run.
private enum CodecRef {
    // reference: ngx.encode_base64(all 256 bytes)
    static let base64All = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="
    // reference: ngx.encode_base64(bytes 0...253, true)
    static let base64AllNoPadding254 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P0"
    // reference: ngx.escape_uri(all 256 bytes, type) for type 0...4
    static let escapeAll: [String] = [
        ##"%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!"%23$%25&'()*+,-./0123456789:;<=>%3F@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##,
        ##"%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!"%23$%25&'()*%2B,-./0123456789:;<=>%3F@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##,
        ##"%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!%22%23%24%25%26'()*%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##,
        ##"%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!%22%23$%25&%27()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##,
        ##"%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!%22#$%&%27()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##,
    ]
    // reference: hex of ngx.escape_uri(all 256 bytes, 5) (type 6 gives the same bytes)
    static let escapeAllType5Hex = "25303025303125303225303325303425303525303625303725303825303925304125304225304325304425304525304625313025313125313225313325313425313525313625313725313825313925314125314225314325314425314525314625323021222324253235262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    // reference: hex of ngx.quote_sql_str(all 256 bytes)
    static let quoteSQLAllHex = "275c30010203040506075c625c745c6e0b0c5c720e0f101112131415161718195c5a1b1c1d1e1f20215c22232425265c2728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff27"
    // reference: hex of ngx.unescape_uri(all 256 bytes)
    static let unescapeAllHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a202c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    // reference: ngx.encode_args({k = all 256 bytes})
    static let encodeArgsAll = ##"k=%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!%22%23%24%25%26'()*%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##
    // reference: ngx.encode_args({[all 256 bytes] = true})
    static let encodeArgsAllKey = ##"%00%01%02%03%04%05%06%07%08%09%0A%0B%0C%0D%0E%0F%10%11%12%13%14%15%16%17%18%19%1A%1B%1C%1D%1E%1F%20!%22%23%24%25%26'()*%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~%7F%80%81%82%83%84%85%86%87%88%89%8A%8B%8C%8D%8E%8F%90%91%92%93%94%95%96%97%98%99%9A%9B%9C%9D%9E%9F%A0%A1%A2%A3%A4%A5%A6%A7%A8%A9%AA%AB%AC%AD%AE%AF%B0%B1%B2%B3%B4%B5%B6%B7%B8%B9%BA%BB%BC%BD%BE%BF%C0%C1%C2%C3%C4%C5%C6%C7%C8%C9%CA%CB%CC%CD%CE%CF%D0%D1%D2%D3%D4%D5%D6%D7%D8%D9%DA%DB%DC%DD%DE%DF%E0%E1%E2%E3%E4%E5%E6%E7%E8%E9%EA%EB%EC%ED%EE%EF%F0%F1%F2%F3%F4%F5%F6%F7%F8%F9%FA%FB%FC%FD%FE%FF"##
    // reference: ngx.md5(s), hex of ngx.sha1_bin(s), ngx.crc32_short(s) (= ngx.crc32_long(s)) for the RFC 1321 suite
    static let digestSuite: [(String, String, String, UInt32)] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709", 0),
        ("a", "0cc175b9c0f1b6a831c399e269772661", "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8", 3904355907),
        ("abc", "900150983cd24fb0d6963f7d28e17f72", "a9993e364706816aba3e25717850c26c9cd0d89d", 891568578),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0", "c12252ceda8be8994d5fa0290a47231c1d16aae3", 538287487),
        ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b", "32d10c7b8cf96570ca04ce37f2a19d84240d3a89", 1277644989),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f", "761c457bf73b14d27e9e9265c46f4b4dda11f940", 532866770),
        ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a", "50abf5706a150990a08b2c5ea40fa0e585554732", 2091469426),
    ]
    // reference: string.rep("a", n): ngx.md5, hex of ngx.sha1_bin, ngx.crc32_long
    static let edgeLengths: [(Int, String, String, UInt32)] = [
        (55, "ef1772b6dff9a122358552954ad0df65", "c1c8bbdc22796e28c0e15163d20899b65621d65a", 2866799438),
        (56, "3b0c8ac703f828b04c6c197006d17218", "c2db330f6083854c99d4b5bfb6e8f29f201be699", 2037976375),
        (57, "652b906d60af96844ebd21b674f35e93", "f08f24908d682555111be7ff6f004e78283d989a", 1349739073),
        (63, "b06521f39153d618550606be297466d5", "03f09f5b158a7a8cdad920bddc29b81c18a551f5", 1747240414),
        (64, "014842d480b571495a4a0363793f7367", "0098ba824b5c16427bd7a1122a5a442a25ec644d", 2310301013),
        (65, "c743a45e0d2e6a95cb859adae0248435", "11655326c708d70319be2610e8a57d9a5b959d3b", 4081037149),
        (119, "8a7bd0732ed6a28ce75f6dabc90e1613", "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56", 1095035822),
        (120, "5f61c0ccad4cac44c75ff505e1f1e537", "f34c1488385346a55709ba056ddd08280dd4c6d6", 3650647111),
        (127, "020406e1d05cdc2aa287641f7ae2cc39", "89d95fa32ed44a7c610b7ee38517ddf57e0bb975", 4039032470),
        (128, "e510683b3f5ffe4093d021808bc6ff70", "ad5b3fdbcb526778c2839d2f151ea753995e26a0", 4046141068),
        (129, "b325dc1c6f5e7a2b7cf465b9feab7948", "d96debf1bdcbc896e6c134ea76e8141f40d78536", 206068350),
    ]
    // reference: string.rep("a", 1000000): ngx.md5, sha1 hex, crc32_long
    static let millionA = ("7707d6ae4e027c70eea2a935c2296f21", "34aa973cd4c4daa4f61eeb2bdbad27316534016f", UInt32(3693461436))
    // reference: 1 MiB of bytes (i * 7 + 3) % 256: md5, sha1 hex, crc32_long, crc32_short, md5 of its base64
    static let mebibyte = ("d8a469bb35fb5fad7156842ba2242434", "9d4a07b141606cf1c54373230e895e684c654460", UInt32(1243928826), UInt32(1243928826), "85efec56628eefef0cbf01e7c39c1e4c")
    // reference: all 256 bytes: md5, sha1 hex, crc32_short
    static let all256 = ("e2c865db4162bed963bfaa9ef6ac18f0", "4916d6bdb7f78e6803698cab32d1586ea457dfc8", UInt32(688229491))
}
