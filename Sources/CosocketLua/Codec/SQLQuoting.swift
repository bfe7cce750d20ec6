// ngx.quote_sql_str.

extension NgxCodec {
    /// `ngx.quote_sql_str(str)`: a MySQL string literal, i.e. `bytes` wrapped in single quotes with
    /// exactly nine bytes backslash-escaped: NUL → `\0`, 0x08 → `\b`, TAB → `\t`, LF → `\n`,
    /// CR → `\r`, 0x1A → `\Z`, `"` → `\"`, `'` → `\'`, `\` → `\\`. Every other byte (including
    /// `%`, `_`, other control bytes, 0x7F-0xFF) is copied unchanged; `""` gives `''`.
    public static func quoteSQLString(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var extra = 0
        for b in bytes where sqlEscape(b) != 0 { extra += 1 }
        let outCount = bytes.count + extra + 2
        return [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
            var j = 0
            out[j] = UInt8(ascii: "'")
            j += 1
            for b in bytes {
                let e = sqlEscape(b)
                if e != 0 {
                    out[j] = UInt8(ascii: "\\")
                    out[j + 1] = e
                    j += 2
                } else {
                    out[j] = b
                    j += 1
                }
            }
            out[j] = UInt8(ascii: "'")
            initialized = j + 1
        }
    }

    /// `ngx.quote_sql_str` over an array.
    public static func quoteSQLString(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { quoteSQLString($0) }
    }

    /// The letter written after the backslash for `b`, or 0 when `b` is copied as is.
    @inline(__always)
    private static func sqlEscape(_ b: UInt8) -> UInt8 {
        switch b {
        case 0x00: return UInt8(ascii: "0")
        case 0x08: return UInt8(ascii: "b")
        case 0x09: return UInt8(ascii: "t")
        case 0x0a: return UInt8(ascii: "n")
        case 0x0d: return UInt8(ascii: "r")
        case 0x1a: return UInt8(ascii: "Z")
        case 0x22, 0x27, 0x5c: return b
        default: return 0
        }
    }
}
