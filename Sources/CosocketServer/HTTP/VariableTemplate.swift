/// nginx's variable interpolation in directive values (`return 200 "$uri!"`, `set $a "${b}c"`,
/// `set_by_lua`'s arguments): `$name` (letters, digits, `_`), `${name}` or a capture `$1`..`$9`;
/// an unset variable reads as empty.
enum VariableTemplate {
    static func expand(_ text: String, _ lookup: (String) -> String?) -> String {
        guard text.utf8.containsByte(where: { $0 == UInt8(ascii: "$") }) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x5f
        }
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "$"), index + 1 < bytes.count else {
                out.append(byte)
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
                guard end < bytes.count else {
                    out.append(contentsOf: bytes[index...])
                    break
                }
            } else if bytes[start] >= UInt8(ascii: "0"), bytes[start] <= UInt8(ascii: "9") {
                // `$1abc` is capture 1 then `abc`, as nginx reads a capture: one digit.
                end = start + 1
            } else {
                while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
            }
            guard end > start else {
                out.append(byte)
                index += 1
                continue
            }
            let name = String(decoding: bytes[start..<end], as: UTF8.self)
            out.append(contentsOf: (lookup(name) ?? "").utf8)
            index = braced ? end + 1 : end
        }
        return String(decoding: out, as: UTF8.self)
    }
}
