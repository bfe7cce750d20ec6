/// Reading the body of a `*_by_lua_block { ... }` directive.
///
/// The body is Lua, not nginx syntax, so it is scanned the way ngx_lua does it
/// (`ngx_http_lua_conf_lua_block_parse` + its generated lexer): find the
/// leftmost Lua token that matters for brace counting, skip it whole, repeat.
/// The tokens are
///
/// * `{` / `}` — counted; the `}` that brings the level to 0 ends the block;
/// * `"..."` / `'...'` — backslash escapes anything but a newline; a string
///   that hits a newline or the end of input is not a token (its quote is then
///   an ordinary character, exactly as in ngx_lua's lexer);
/// * `--[=*[ ... ]=*]` long comments and `[=*[ ... ]=*]` long strings — the
///   closing bracket must have the same number of `=`; a missing one is an
///   error (ngx_lua's wording);
/// * `-- ...` line comments (to the end of the line).
///
/// Everything else is copied verbatim. ngx_lua additionally fails blocks whose
/// single token exceeds its 4 KiB read buffer; we have the whole file in
/// memory and do not reproduce that limitation.
extension ConfigLexer {
    /// Reads from just after the opening `{` to the matching `}` (consumed).
    mutating func readLuaBlock() throws(ConfigError) -> ConfigLuaBlock {
        let bodyStart = pos
        let firstLine = line
        // ngx_lua reports a missing `}` at the line of the last `{` it saw.
        var lastOpenLine = line
        var level = 1

        while true {
            guard let token = try nextLuaToken() else {
                throw error(.unexpectedEndOfLuaBlock, line: lastOpenLine)
            }
            consume(upTo: token.end)
            switch token.kind {
            case .openBrace:
                level += 1
                lastOpenLine = line
            case .closeBrace:
                level -= 1
                if level == 0 {
                    return ConfigLuaBlock(source: Array(bytes[bodyStart..<(token.end - 1)]), line: firstLine)
                }
            case .skipped:
                break
            }
        }
    }

    private enum LuaTokenKind { case openBrace, closeBrace, skipped }

    /// Advances `pos` to `end`, counting lines.
    private mutating func consume(upTo end: Int) {
        while pos < end {
            if bytes[pos] == ConfByte.lf { line += 1 }
            pos += 1
        }
    }

    /// The leftmost interesting token at or after `pos`; nil at end of input.
    private mutating func nextLuaToken() throws(ConfigError) -> (kind: LuaTokenKind, end: Int)? {
        var i = pos
        while i < bytes.count {
            switch bytes[i] {
            case ConfByte.openBrace:
                return (.openBrace, i + 1)
            case ConfByte.closeBrace:
                return (.closeBrace, i + 1)
            case ConfByte.doubleQuote, ConfByte.singleQuote:
                if let end = quotedStringEnd(from: i) { return (.skipped, end) }
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                if let level = longBracketLevel(at: i + 2) {
                    return (.skipped, try longBracketEnd(openerAt: i, contentStart: i + 2 + level + 2, level: level))
                }
                var j = i + 2
                while j < bytes.count && bytes[j] != ConfByte.lf { j += 1 }
                return (.skipped, j)
            case UInt8(ascii: "["):
                if let level = longBracketLevel(at: i) {
                    return (.skipped, try longBracketEnd(openerAt: i, contentStart: i + level + 2, level: level))
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// End (exclusive) of a quoted Lua string starting at `start`, or nil if
    /// it is not terminated on the same line.
    private func quotedStringEnd(from start: Int) -> Int? {
        let quote = bytes[start]
        var j = start + 1
        while j < bytes.count {
            let c = bytes[j]
            if c == quote { return j + 1 }
            if c == ConfByte.lf { return nil }
            if c == ConfByte.backslash {
                guard j + 1 < bytes.count, bytes[j + 1] != ConfByte.lf else { return nil }
                j += 2
            } else {
                j += 1
            }
        }
        return nil
    }

    /// If `[` `=`* `[` starts at `i`, the number of `=`.
    private func longBracketLevel(at i: Int) -> Int? {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { return nil }
        var j = i + 1
        while j < bytes.count && bytes[j] == UInt8(ascii: "=") { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "[") else { return nil }
        return j - i - 1
    }

    /// End (exclusive) of the `]=*]` closing a long bracket of `level`.
    private mutating func longBracketEnd(openerAt opener: Int, contentStart: Int, level: Int) throws(ConfigError) -> Int {
        var j = contentStart
        while j + level + 1 < bytes.count {
            if bytes[j] == UInt8(ascii: "]") {
                var k = j + 1
                while k < j + 1 + level && bytes[k] == UInt8(ascii: "=") { k += 1 }
                if k == j + 1 + level && bytes[k] == UInt8(ascii: "]") { return k + 1 }
            }
            j += 1
        }
        // ngx_lua counts lines up to the opener before reporting.
        consume(upTo: opener)
        throw error(.luaLongBracketNotClosed("]" + String(repeating: "=", count: level) + "]"))
    }
}
