import CPCRE2

/// The option letters of `ngx.re.*` (`"jo"`, `"i"`, ...), read as lua-resty-core reads them:
/// each letter sets PCRE2 compile options or a flag of ours; any other letter is an error.
public struct RegexOptions: Hashable, Sendable {
    /// `o`: keep the compiled pattern in the worker's cache.
    public var compileOnce = false
    /// `d`: match with the DFA matcher (longest match, no captures).
    public var dfa = false
    /// `j`: compile with PCRE2's JIT.
    public var jit = false
    /// `D`: duplicate names; a name's captures are collected into a list.
    public var duplicateNames = false
    /// `U`: UTF-8 mode without checking the subject.
    public var skipUTFCheck = false
    /// PCRE2 compile options.
    public var compileOptions: UInt32 = 0

    public init() {}

    /// The reference's words for an unknown letter: `unknown flag "Q" (flags "Qi")`.
    public struct UnknownFlag: Error, Equatable, Sendable {
        public let message: String
    }

    public static func parse(_ letters: some Collection<UInt8>) -> Result<RegexOptions, UnknownFlag> {
        var options = RegexOptions()
        for letter in letters {
            switch letter {
            case UInt8(ascii: "o"): options.compileOnce = true
            case UInt8(ascii: "j"): options.jit = true
            case UInt8(ascii: "i"): options.compileOptions |= PCRE2_CASELESS
            case UInt8(ascii: "s"): options.compileOptions |= PCRE2_DOTALL
            case UInt8(ascii: "m"): options.compileOptions |= PCRE2_MULTILINE
            case UInt8(ascii: "u"): options.compileOptions |= PCRE2_UTF
            case UInt8(ascii: "U"):
                // Not PCRE2_NO_UTF_CHECK at match time, whose behaviour on invalid input is
                // undefined (a crash would take every worker): PCRE2_MATCH_INVALID_UTF skips
                // the up-front check as safely, invalid bytes then matching nothing.
                options.compileOptions |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF
                options.skipUTFCheck = true
            case UInt8(ascii: "x"): options.compileOptions |= PCRE2_EXTENDED
            case UInt8(ascii: "d"): options.dfa = true
            case UInt8(ascii: "a"): options.compileOptions |= PCRE2_ANCHORED
            case UInt8(ascii: "D"):
                options.compileOptions |= PCRE2_DUPNAMES
                options.duplicateNames = true
            // PCRE1's JavaScript compatibility, as PCRE2 spells its parts.
            case UInt8(ascii: "J"): options.compileOptions |= PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_MATCH_UNSET_BACKREF
            default:
                let all = String(decoding: letters, as: UTF8.self)
                let one = String(decoding: [letter], as: UTF8.self)
                return .failure(UnknownFlag(message: "unknown flag \"\(one)\" (flags \"\(all)\")"))
            }
        }
        return .success(options)
    }
}
