/// How lua-nginx-module writes a header name or value that Lua code set
/// (`ngx.req.set_header`): bytes that would break the header's framing become `%XX`, so a
/// value from a peer cannot inject a header. Names lose every byte that is not a token
/// character (controls, space, the separators, bytes from 0x80); values only controls other
/// than tab, and DEL.
public enum HeaderEscaping {
    static func unsafeInName(_ byte: UInt8) -> Bool {
        if byte <= 0x20 || byte >= 0x7F { return true }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
            UInt8(ascii: "/"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "?"), UInt8(ascii: "="),
            UInt8(ascii: "{"), UInt8(ascii: "}"):
            return true
        default:
            return false
        }
    }

    static func unsafeInValue(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0x09) || byte == 0x7F
    }

    public static func name(_ text: String) -> String { escape(text, unsafeInName) }
    public static func value(_ text: String) -> String { escape(text, unsafeInValue) }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func escape(_ text: String, _ unsafe: (UInt8) -> Bool) -> String {
        guard text.utf8.containsByte(where: unsafe) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            if unsafe(byte) {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// `ngx.req.set_uri`'s check: without its `binary` argument, a URI may not carry control
/// bytes other than tab, nor DEL (`%00-%08, %0A-%1F, %7F`).
public enum URISafety {
    /// The first unsafe byte, or `nil`.
    public static func firstUnsafeByte(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        bytes.first { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }

    /// The URI as the reference prints it in its error: bytes outside printable ASCII as `\xHH`.
    public static func printable(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = ""
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7F {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let digits = Array("0123456789ABCDEF")
                out += "\\x\(digits[Int(byte >> 4)])\(digits[Int(byte & 15)])"
            }
        }
        return out
    }
}
