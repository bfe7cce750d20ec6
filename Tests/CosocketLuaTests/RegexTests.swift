import CPCRE2
import Testing

@testable import CosocketLua

/// The pure parts of `ngx.re`: option letters, replacement templates, compile errors, return
/// codes and the `o` cache. The Lua-visible behaviour is pinned by the corpus (`re_*`).
@Suite struct RegexTests {
    private func compile(_ pattern: String, _ letters: String = "") throws -> CompiledRegex {
        let options = try RegexOptions.parse(Array(letters.utf8)).get()
        return try Array(pattern.utf8).withUnsafeBytes { try CompiledRegex.compile($0, options: options).get() }
    }

    private func match(_ regex: CompiledRegex, _ subject: String, from offset: Int = 0, context: RegexMatchContext = RegexMatchContext()) -> (Int32, [String?]) {
        Array(subject.utf8).withUnsafeBytes { bytes in
            let rc = regex.match(bytes, from: offset, context: context)
            // The match data is only meaningful after a match.
            guard rc >= 0 else { return (rc, []) }
            let groups = (0...regex.captureCount).map { regex.range(of: $0).map { String(decoding: bytes[$0], as: UTF8.self) } }
            return (rc, groups)
        }
    }

    @Test func optionLetters() throws {
        let all = try RegexOptions.parse(Array("adDijJmosuUx".utf8)).get()
        #expect(all.compileOnce && all.dfa && all.jit && all.duplicateNames && all.skipUTFCheck)
        for flag in [PCRE2_ANCHORED, PCRE2_DUPNAMES, PCRE2_CASELESS, PCRE2_MULTILINE, PCRE2_DOTALL, PCRE2_UTF, PCRE2_EXTENDED, PCRE2_ALT_BSUX] {
            #expect(all.compileOptions & flag != 0)
        }
        #expect(try RegexOptions.parse([UInt8]()).get() == RegexOptions())
        #expect(RegexOptions.parse(Array("ijQ".utf8)) == .failure(.init(message: "unknown flag \"Q\" (flags \"ijQ\")")))
        #expect(RegexOptions.parse(Array(" ".utf8)) == .failure(.init(message: "unknown flag \" \" (flags \" \")")))
    }

    @Test(arguments: [
        ("plain", [RegexTemplate.Piece.literal(Array("plain".utf8))]),
        ("$0", [.capture(0)]),
        ("a${12}b", [.literal([97]), .capture(12), .literal([98])]),
        ("$1a", [.capture(1), .literal([97])]),
        ("$$1", [.literal(Array("$1".utf8))]),
        ("$007", [.capture(7)]),
        ("$99999999999999999999999", [.capture(Int.max)]),
        ("", []),
    ])
    func templates(source: String, pieces: [RegexTemplate.Piece]) throws {
        #expect(try RegexTemplate.compile(Array(source.utf8)).get().pieces == pieces)
    }

    @Test(arguments: [
        ("$", "lua script: invalid capturing variable name found in \"$\""),
        ("a$", "lua script: invalid capturing variable name found in \"a$\""),
        ("${}", "lua script: invalid capturing variable name found in \"${}\""),
        ("${", "lua script: invalid capturing variable name found in \"${\""),
        ("$-", "lua script: invalid capturing variable name found in \"$-\""),
        ("${1", "the closing bracket in \"1\" variable is missing"),
        ("${1a}", "the closing bracket in \"1\" variable is missing"),
        ("$name", "attempt to use named capturing variable \"name\" (named captures not supported yet)"),
        ("${x_1}", "attempt to use named capturing variable \"x_1\" (named captures not supported yet)"),
    ])
    func badTemplates(source: String, logged: String) {
        #expect(RegexTemplate.compile(Array(source.utf8)) == .failure(.init(logMessage: logged)))
    }

    @Test func templateExpansion() throws {
        let regex = try compile("(a)(x)?(c)")
        let template = try RegexTemplate.compile(Array("[$0|$1|$2|$3|$4]".utf8)).get()
        let output = Array("zac".utf8).withUnsafeBytes { bytes -> String in
            let rc = regex.match(bytes, from: 0, context: RegexMatchContext())
            var output: [UInt8] = []
            template.expand(into: &output, subject: bytes, regex: regex, count: Int(rc))
            return String(decoding: output, as: UTF8.self)
        }
        #expect(output == "[ac|a||c|]")
    }

    @Test func matchingAndCaptures() throws {
        #expect(match(try compile("([a-z]+)(?<n>[0-9]+)?"), "--ab12") == (3, ["ab12", "ab", "12"]))
        #expect(match(try compile("(x)|(y)"), "y") == (3, ["y", nil, "y"]))
        #expect(match(try compile("b"), "abab", from: 2).1 == ["b"])
        #expect(match(try compile("b"), "ab", from: 3).0 == RegexStatus.noMatch)
        #expect(match(try compile("b"), "ab", from: -1).0 == RegexStatus.noMatch)
        #expect(match(try compile(""), "").0 == 1)
        // DFA: the longest match first, no groups (the ovector holds one).
        let dfa = try compile("a|ab|(abc)", "d")
        #expect(dfa.captureCount == 0)
        #expect(match(dfa, "abcd") == (0, ["abc"]))  // 0: more matches than the ovector holds
        #expect(try compile("(?<x>a)(?<y>b)").names.map { String(decoding: $0.name, as: UTF8.self) } == ["x", "y"])
    }

    @Test func referenceReturnCodes() throws {
        #expect(match(try compile(".", "u"), "é") == (1, ["é"]))
        let utf = try compile("a", "u")
        let invalid = [UInt8]([0x61, 0xFF]).withUnsafeBytes { utf.match($0, from: 0, context: RegexMatchContext()) }
        #expect(invalid == -10)
        let empty = try compile("", "u")
        let midCharacter = Array("é".utf8).withUnsafeBytes { empty.match($0, from: 1, context: RegexMatchContext()) }
        #expect(midCharacter == -11)
        // `U` skips the check without PCRE2's undefined behaviour: invalid bytes match nothing.
        let unchecked = try compile("a.b|b", "U")
        let skipped = [UInt8]([0x61, 0xFF, 0x62, 0xC3]).withUnsafeBytes { bytes -> (Int32, Range<Int>?) in
            (unchecked.match(bytes, from: 0, context: RegexMatchContext()), unchecked.range(of: 0))
        }
        #expect(skipped.0 == 1)
        #expect(skipped.1 == 2..<3)
        #expect(match(try compile("h(.)", "U"), "héllo") == (2, ["hé", "é"]))
        let limited = RegexMatchContext(matchLimit: 100)
        #expect(match(try compile("(a|aa)+$"), String(repeating: "a", count: 20) + "b", context: limited).0 == -8)
        #expect(match(try compile("(a|aa)+$", "j"), String(repeating: "a", count: 20) + "b", context: limited).0 == -8)
    }

    @Test func compileErrors() {
        func error(_ pattern: [UInt8]) -> String? {
            pattern.withUnsafeBytes { bytes in
                if case .failure(let error) = CompiledRegex.compile(bytes, options: RegexOptions()) { return error.message }
                return nil
            }
        }
        #expect(error(Array("(".utf8)) == "pcre2_compile() failed: missing closing parenthesis in \"(\"")
        #expect(error(Array("x)y".utf8)) == "pcre2_compile() failed: unmatched closing parenthesis in \"x)y\" at \")y\"")
        #expect(error(Array(repeating: UInt8(ascii: "("), count: 300))?.utf8.count == CompiledRegex.maximumErrorLength)
        // The pattern ends at a NUL byte, as the reference's C string does.
        #expect(error(Array("a\0(".utf8)) == nil)
    }

    @Test func compileOnceCache() throws {
        let cache = RegexCache(maxEntries: 2)
        var warnings: [String] = []
        cache.warn = { warnings.append($0) }
        let once = try RegexOptions.parse(Array("o".utf8)).get()
        func regex(_ pattern: String, _ options: RegexOptions = RegexOptions()) throws -> CompiledRegex {
            try Array(pattern.utf8).withUnsafeBytes { p in
                try Array("o".utf8).withUnsafeBytes { try cache.regex(p, options: options, optionText: $0).get() }
            }
        }
        #expect(try regex("a") !== regex("a"))
        #expect(cache.isMatchCacheEmpty)
        let a = try regex("a", once)
        #expect(try regex("a", once) === a)
        #expect(!cache.isMatchCacheEmpty)
        _ = try regex("b", once)
        _ = try regex("a", once)  // a is now the most recent
        _ = try regex("c", once)  // evicts b
        #expect(try regex("a", once) === a)
        #expect(warnings == ["lua exceeding regex cache max entries (2)"])
        _ = try regex("d", once)
        #expect(warnings.count == 1)
    }

    @Test func substitutionCacheStopsWhenFull() throws {
        let cache = RegexCache(maxEntries: 1)
        var warnings: [String] = []
        cache.warn = { warnings.append($0) }
        let once = try RegexOptions.parse(Array("o".utf8)).get()
        func regex(_ pattern: String, _ template: String?) throws -> CompiledRegex {
            try Array(pattern.utf8).withUnsafeBytes { p in
                try Array("o".utf8).withUnsafeBytes { o in
                    try template.map { Array($0.utf8) }.withUnsafeBytesIfPresent { t in try cache.substitutionRegex(p, options: once, optionText: o, template: t).get() }
                }
            }
        }
        let first = try regex("a", "x")
        #expect(try regex("a", "x") === first)
        #expect(try regex("a", "y") !== regex("a", "y"))
        #expect(try regex("a", nil) !== first)
        #expect(warnings == ["lua exceeding regex cache max entries (1)"])
        #expect(throws: RegexCache.SubstitutionFailure.self) { try regex("a", "$x") }
    }
}

extension Optional where Wrapped == [UInt8] {
    fileprivate func withUnsafeBytesIfPresent<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let self else { return try body(nil) }
        return try self.withUnsafeBytes { try body($0) }
    }
}
