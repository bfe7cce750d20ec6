// ngx.escape_uri / ngx.unescape_uri.

extension NgxCodec {
    /// The `type` values `ngx.escape_uri(str, type)` accepts (nginx's NGX_ESCAPE_* constants):
    /// 0 URI, 1 ARGS, 2 URI_COMPONENT (the default), 3 HTML, 4 REFRESH, 5 MEMCACHED, 6 MAIL_AUTH.
    /// ngx raises `"type" <n> out of range` for anything else; the binding must check this range
    /// before calling `escapeURI` (which traps on an invalid type).
    public static let escapeURITypeRange: ClosedRange<Int> = 0...6

    /// The default `type` of `ngx.escape_uri`: NGX_ESCAPE_URI_COMPONENT.
    public static let escapeURIComponent = 2

    /// Per type, 256 flags (1 = escape the byte), laid out as `type * 256 + byte`.
    /// The sets are ngx_lua's own tables (not nginx core's), measured byte by byte on the reference:
    /// - 0 URI: 0x00-0x20, `#`, `%`, `?`, 0x7F-0xFF
    /// - 1 ARGS: as URI plus `+`
    /// - 2 URI_COMPONENT: 0x00-0x20, `"#$%&+,/:;<=>?@[\]^` and backquote, `{|}`, 0x7F-0xFF
    ///   (so `!'()*-._~` and alphanumerics stay as they are)
    /// - 3 HTML: 0x00-0x20, `"`, `#`, `%`, `'`, 0x7F-0xFF
    /// - 4 REFRESH: 0x00-0x20, `"`, `'`, 0x7F-0xFF
    /// - 5 MEMCACHED and 6 MAIL_AUTH: 0x00-0x20 and `%` only (bytes >= 0x7F pass through)
    private static let escapeFlags: [UInt8] = {
        let controlsAndSpace = Array(UInt8(0)...UInt8(0x20))
        let high = Array(UInt8(0x7f)...UInt8(0xff))
        func chars(_ s: String) -> [UInt8] { Array(s.utf8) }
        let sets: [[UInt8]] = [
            controlsAndSpace + chars("#%?") + high,
            controlsAndSpace + chars("#%?+") + high,
            controlsAndSpace + chars("\"#$%&+,/:;<=>?@[\\]^`{|}") + high,
            controlsAndSpace + chars("\"#%'") + high,
            controlsAndSpace + chars("\"'") + high,
            controlsAndSpace + chars("%"),
            controlsAndSpace + chars("%"),
        ]
        var flags = [UInt8](repeating: 0, count: sets.count * 256)
        for (type, set) in sets.enumerated() {
            for b in set { flags[type * 256 + Int(b)] = 1 }
        }
        return flags
    }()

    /// Number of bytes `escapeURI` produces, so a binding can size a buffer (or skip the copy
    /// when it equals `bytes.count`, as ngx does, returning the original string).
    public static func escapedURILength(_ bytes: UnsafeRawBufferPointer, type: Int = 2) -> Int {
        precondition(escapeURITypeRange.contains(type), "escape_uri type \(type) out of range")
        return escapeFlags.withUnsafeBufferPointer { all in
            let flags = all.baseAddress! + type * 256
            var escapes = 0
            for b in bytes { escapes &+= Int(flags[Int(b)]) }
            return bytes.count + 2 * escapes
        }
    }

    /// `ngx.escape_uri(str, type?)`: percent-encodes every byte in the set of `type` (see
    /// `escapeURITypeRange`) as `%XX` with upper-case hex, e.g. a space becomes `%20` (never `+`).
    public static func escapeURI(_ bytes: UnsafeRawBufferPointer, type: Int = 2) -> [UInt8] {
        var out: [UInt8] = []
        escapeURI(bytes, type: type, appendingTo: &out)
        return out
    }

    /// `ngx.escape_uri` over an array.
    public static func escapeURI(_ bytes: [UInt8], type: Int = 2) -> [UInt8] {
        bytes.withUnsafeBytes { escapeURI($0, type: type) }
    }

    /// `ngx.escape_uri`, appending to `output` (for building larger strings such as query args).
    public static func escapeURI(_ bytes: UnsafeRawBufferPointer, type: Int = 2, appendingTo output: inout [UInt8]) {
        let outCount = escapedURILength(bytes, type: type)
        if outCount == bytes.count {
            output.append(contentsOf: bytes)
            return
        }
        let hexDigits: StaticString = "0123456789ABCDEF"
        let hex = hexDigits.utf8Start
        escapeFlags.withUnsafeBufferPointer { all in
            let flags = all.baseAddress! + type * 256
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: outCount))
            output.withUnsafeMutableBufferPointer { buf in
                var d = buf.baseAddress! + start
                for b in bytes {
                    if flags[Int(b)] != 0 {
                        d[0] = UInt8(ascii: "%")
                        d[1] = hex[Int(b >> 4)]
                        d[2] = hex[Int(b & 0x0f)]
                        d += 3
                    } else {
                        d[0] = b
                        d += 1
                    }
                }
            }
        }
    }

    /// `ngx.unescape_uri(str)`: decodes `%XX` (hex digits of either case) and turns `+` into a space.
    ///
    /// A `%` not followed by two hex digits is kept literally and decoding resumes right after it,
    /// so `"%zz"`, `"%4"`, `"%"` are unchanged, `"%%41"` gives `"%A"`, `"%4%41"` gives `"%4A"` and
    /// `"%+"` gives `"% "`. `%2B` decodes to `+` (not a space) and `%00` to a NUL byte; `?` has no
    /// special meaning. The output is never longer than the input.
    public static func unescapeURI(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        unescapeURI(bytes, appendingTo: &out)
        return out
    }

    /// `ngx.unescape_uri` over an array.
    public static func unescapeURI(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { unescapeURI($0) }
    }

    /// `ngx.unescape_uri`, appending to `output`.
    public static func unescapeURI(_ bytes: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: n))
        let written = output.withUnsafeMutableBufferPointer { buf -> Int in
            unescapeURI(src, count: n, into: buf.baseAddress! + start)
        }
        output.removeLast(n - written)
    }

    /// Hex digit values (either case); 0xFF for every other byte.
    private static let hexValues: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for i in 0..<10 { t[0x30 + i] = UInt8(i) }
        for i in 0..<6 {
            t[0x41 + i] = UInt8(10 + i)
            t[0x61 + i] = UInt8(10 + i)
        }
        return t
    }()

    /// Unescapes `count` bytes at `src` into `dst` (which may equal `src`: decoding never runs
    /// ahead of the input) and returns the number of bytes written.
    static func unescapeURI(_ src: UnsafePointer<UInt8>, count n: Int, into dst: UnsafeMutablePointer<UInt8>) -> Int {
        hexValues.withUnsafeBufferPointer { table in
            let hex = table.baseAddress!
            var i = 0
            var j = 0
            while i < n {
                let c = src[i]
                if c == UInt8(ascii: "%") && i + 2 < n {
                    let hi = hex[Int(src[i + 1])], lo = hex[Int(src[i + 2])]
                    if hi < 16 && lo < 16 {
                        dst[j] = hi << 4 | lo
                        i += 3
                        j += 1
                        continue
                    }
                }
                dst[j] = c == UInt8(ascii: "+") ? UInt8(ascii: " ") : c
                i += 1
                j += 1
            }
            return j
        }
    }
}
