/// nginx's variable interpolation in directive values (`return 200 "$uri!"`, `set $a "${b}c"`,
/// `set_by_lua`'s arguments): `$name` (letters, digits, `_`), `${name}` or a capture `$1`..`$9`;
/// an unset variable reads as empty.
enum VariableTemplate {
    static func expand(_ text: String, _ lookup: (String) -> String?) -> String {
        guard text.utf8.containsByte(where: { $0 == UInt8(ascii: "$") }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        scan(text, literal: { out.append(contentsOf: $0) }, variable: { out.append(contentsOf: (lookup($0) ?? "").utf8) })
        return String(decoding: out, as: UTF8.self)
    }

    /// Walks `text` in order: its literal bytes (in runs) and the names of its variables. The
    /// one reading of nginx's `$` syntax, for `expand` and for directives that turn a template
    /// into code (echo-nginx-module's).
    static func scan(_ text: String, literal: (ArraySlice<UInt8>) -> Void, variable: (String) -> Void) {
        let bytes = Array(text.utf8)
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x5f
        }
        var index = 0
        var runStart = 0
        func flush(upTo end: Int) {
            if end > runStart { literal(bytes[runStart..<end]) }
        }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "$"), index + 1 < bytes.count else {
                index += 1
                continue
            }
            var start = index + 1
            var end = start
            var braced = false
            if bytes[start] == UInt8(ascii: "{") {
                braced = true
                start += 1
                end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "}") { end += 1 }
                // An unclosed `${` is literal text to the end.
                guard end < bytes.count else { break }
            } else if bytes[start] >= UInt8(ascii: "0"), bytes[start] <= UInt8(ascii: "9") {
                // `$1abc` is capture 1 then `abc`, as nginx reads a capture: one digit.
                end = start + 1
            } else {
                while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
            }
            guard end > start else {
                index += 1
                continue
            }
            flush(upTo: index)
            variable(String(decoding: bytes[start..<end], as: UTF8.self))
            index = braced ? end + 1 : end
            runStart = index
        }
        flush(upTo: bytes.count)
    }

    /// A Lua expression for `text` with its variables (and regex captures) read through
    /// `ngx.var` at run time, for directives made into Lua handlers at load.
    static func luaExpression(_ text: String) -> String {
        var parts: [String] = []
        scan(text, literal: { parts.append(EchoDirectives.literal(Array($0))) }) { name in
            parts.append(name.allSatisfy(\.isNumber) ? "(ngx.var[\(name)] or \"\")" : "(ngx.var[\(EchoDirectives.literal(name))] or \"\")")
        }
        return parts.isEmpty ? "\"\"" : parts.joined(separator: " .. ")
    }
}
