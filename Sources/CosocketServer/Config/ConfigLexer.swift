/// One directive's words as read by nginx's `ngx_conf_read_token`, plus how
/// it ended.
struct ConfigStatement: Sendable {
    enum Terminator: Sendable { case semicolon, blockStart }

    var words: [String]
    var terminator: Terminator
    /// Line of the terminating `;` / `{` (what nginx reports in errors).
    var line: Int
    /// Line of the first word.
    var startLine: Int
}

enum ConfigToken: Sendable {
    case statement(ConfigStatement)
    case blockEnd
    case endOfFile
}

/// Byte-level tokenizer for nginx.conf, a faithful port of
/// `ngx_conf_read_token` (ngx_conf_file.c) so that odd inputs tokenize exactly
/// as nginx tokenizes them:
///
/// * words end at space, tab, CR, LF, `;` or `{`; a `}` only counts when it
///   starts a word (`foo}` is one word, as in nginx);
/// * `#` starts a comment only at the start of a word;
/// * `"..."` / `'...'` quote a word; after the closing quote only whitespace,
///   `;`, `{` or `)` may follow (otherwise `unexpected "x"`);
/// * a backslash protects the next character; when the word is stored,
///   `\"` `\'` `\\` lose the backslash, `\n` `\r` `\t` become control
///   characters, any other escape keeps its backslash;
/// * `{` right after `$` does not end a word, so `${var}` works unquoted.
struct ConfigLexer: Sendable {
    let bytes: [UInt8]
    let file: String
    /// Index of the next byte to read.
    var pos = 0
    /// Current line (1 + number of LFs consumed), as nginx counts.
    var line = 1

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    func error(_ kind: ConfigError.Kind, line: Int? = nil) -> ConfigError {
        ConfigError(kind, file: file, line: line ?? self.line)
    }

    mutating func next() throws(ConfigError) -> ConfigToken {
        var words: [String] = []
        var needSpace = false, lastSpace = true, sharpComment = false
        var variable = false, quoted = false, sQuoted = false, dQuoted = false
        var start = pos
        var firstLine = line

        func finish(_ t: ConfigStatement.Terminator, _ words: [String], _ line: Int) -> ConfigToken {
            .statement(ConfigStatement(words: words, terminator: t, line: line, startLine: firstLine))
        }

        while true {
            guard pos < bytes.count else {
                if !words.isEmpty || !lastSpace { throw error(.unexpectedEndOfFile) }
                return .endOfFile
            }
            let ch = bytes[pos]
            pos += 1

            if ch == ConfByte.lf {
                line += 1
                sharpComment = false
            }
            if sharpComment { continue }
            if quoted { quoted = false; continue }

            if needSpace {
                if ConfByte.isSpace(ch) { lastSpace = true; needSpace = false; continue }
                if ch == ConfByte.semicolon { return finish(.semicolon, words, line) }
                if ch == ConfByte.openBrace { return finish(.blockStart, words, line) }
                guard ch == ConfByte.closeParen else { throw error(.unexpected(String(decoding: [ch], as: UTF8.self))) }
                lastSpace = true
                needSpace = false
            }

            if lastSpace {
                start = pos - 1
                if ConfByte.isSpace(ch) { continue }
                if words.isEmpty { firstLine = line }
                switch ch {
                case ConfByte.semicolon, ConfByte.openBrace:
                    if words.isEmpty { throw error(.unexpected(ch == ConfByte.semicolon ? ";" : "{")) }
                    return finish(ch == ConfByte.semicolon ? .semicolon : .blockStart, words, line)
                case ConfByte.closeBrace:
                    if !words.isEmpty { throw error(.unexpected("}")) }
                    return .blockEnd
                case ConfByte.hash:
                    sharpComment = true
                    continue
                case ConfByte.backslash:
                    quoted = true
                    lastSpace = false
                    continue
                case ConfByte.doubleQuote:
                    start += 1
                    dQuoted = true
                    lastSpace = false
                    continue
                case ConfByte.singleQuote:
                    start += 1
                    sQuoted = true
                    lastSpace = false
                    continue
                case ConfByte.dollar:
                    variable = true
                    lastSpace = false
                    continue
                default:
                    lastSpace = false
                }
            } else {
                if ch == ConfByte.openBrace && variable { continue }
                variable = false
                if ch == ConfByte.backslash { quoted = true; continue }
                if ch == ConfByte.dollar { variable = true; continue }

                var found = false
                if dQuoted {
                    if ch == ConfByte.doubleQuote { dQuoted = false; needSpace = true; found = true }
                } else if sQuoted {
                    if ch == ConfByte.singleQuote { sQuoted = false; needSpace = true; found = true }
                } else if ConfByte.isSpace(ch) || ch == ConfByte.semicolon || ch == ConfByte.openBrace {
                    lastSpace = true
                    found = true
                }

                if found {
                    words.append(Self.unescape(bytes[start..<(pos - 1)]))
                    if ch == ConfByte.semicolon { return finish(.semicolon, words, line) }
                    if ch == ConfByte.openBrace { return finish(.blockStart, words, line) }
                }
            }
        }
    }

    /// nginx's word copy loop: only `\" \' \\ \t \r \n` are escapes.
    static func unescape(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.contains(ConfByte.backslash) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            if raw[i] == ConfByte.backslash, i + 1 < raw.endIndex {
                switch raw[i + 1] {
                case ConfByte.doubleQuote, ConfByte.singleQuote, ConfByte.backslash:
                    i += 1
                case UInt8(ascii: "t"): out.append(ConfByte.tab); i += 2; continue
                case UInt8(ascii: "r"): out.append(ConfByte.cr); i += 2; continue
                case UInt8(ascii: "n"): out.append(ConfByte.lf); i += 2; continue
                default: break
                }
            }
            out.append(raw[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Byte constants for the config lexers (a namespace, so nothing is added to
/// `UInt8` that could clash with other files of the module).
enum ConfByte {
    static let lf = UInt8(ascii: "\n")
    static let cr = UInt8(ascii: "\r")
    static let tab = UInt8(ascii: "\t")
    static let space = UInt8(ascii: " ")
    static let semicolon = UInt8(ascii: ";")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let closeParen = UInt8(ascii: ")")
    static let hash = UInt8(ascii: "#")
    static let backslash = UInt8(ascii: "\\")
    static let doubleQuote = UInt8(ascii: "\"")
    static let singleQuote = UInt8(ascii: "'")
    static let dollar = UInt8(ascii: "$")

    /// Whitespace as nginx's config lexer sees it.
    static func isSpace(_ c: UInt8) -> Bool { c == space || c == tab || c == cr || c == lf }
}
