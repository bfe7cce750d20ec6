// ngx.encode_base64 / ngx.decode_base64.

extension NgxCodec {
    /// Length of `encodeBase64` output for `count` input bytes, so a binding can size a buffer up front.
    public static func base64EncodedLength(_ count: Int, noPadding: Bool = false) -> Int {
        noPadding ? (count * 8 + 5) / 6 : (count + 2) / 3 * 4
    }

    /// `ngx.encode_base64(str, no_padding?)`: standard alphabet (`+`, `/`), `=` padding unless
    /// `noPadding` is true. Never fails.
    public static func encodeBase64(_ bytes: UnsafeRawBufferPointer, noPadding: Bool = false) -> [UInt8] {
        let n = bytes.count
        let outCount = base64EncodedLength(n, noPadding: noPadding)
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let table = alphabet.utf8Start
        return [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
            guard n > 0, let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
                initialized = 0
                return
            }
            var i = 0
            var j = 0
            while i + 3 <= n {
                let b0 = UInt32(src[i]), b1 = UInt32(src[i + 1]), b2 = UInt32(src[i + 2])
                let v = b0 << 16 | b1 << 8 | b2
                out[j] = table[Int(v >> 18)]
                out[j + 1] = table[Int((v >> 12) & 0x3f)]
                out[j + 2] = table[Int((v >> 6) & 0x3f)]
                out[j + 3] = table[Int(v & 0x3f)]
                i += 3
                j += 4
            }
            let rest = n - i
            if rest > 0 {
                let b0 = UInt32(src[i])
                let b1 = rest == 2 ? UInt32(src[i + 1]) : 0
                let v = b0 << 16 | b1 << 8
                out[j] = table[Int(v >> 18)]
                out[j + 1] = table[Int((v >> 12) & 0x3f)]
                j += 2
                if rest == 2 {
                    out[j] = table[Int((v >> 6) & 0x3f)]
                    j += 1
                } else if !noPadding {
                    out[j] = UInt8(ascii: "=")
                    j += 1
                }
                if !noPadding {
                    out[j] = UInt8(ascii: "=")
                    j += 1
                }
            }
            initialized = j
        }
    }

    /// `ngx.encode_base64` over an array.
    public static func encodeBase64(_ bytes: [UInt8], noPadding: Bool = false) -> [UInt8] {
        bytes.withUnsafeBytes { encodeBase64($0, noPadding: noPadding) }
    }

    /// 0xFF marks bytes outside the standard base64 alphabet.
    private static let base64DecodeTable: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// `ngx.decode_base64(str)`, returning `nil` exactly when ngx returns nil.
    ///
    /// Semantics of nginx's `ngx_decode_base64` as observed on the reference:
    /// - Input is scanned up to the first `=`; everything from that `=` on is ignored
    ///   (`"Zg=x"`, `"Zg==Zg=="`, `"Zg= "` all decode to `"f"`), so padding is optional and may be
    ///   short or excessive (`"Zg"`, `"Zg="`, `"Zg==="`).
    /// - Any byte outside `A-Z a-z 0-9 + /` before that point (whitespace, CR/LF, NUL, URL-safe
    ///   `-`/`_`) makes the whole result nil.
    /// - A data length of 4k+1 characters is nil (`"Z"`, `"Zm9vY"`); leftover low bits of the last
    ///   character are ignored (`"Zh=="` decodes like `"Zg=="`).
    /// - `""`, `"="`, `"===="` decode to the empty string.
    public static func decodeBase64(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return [] }
        return base64DecodeTable.withUnsafeBufferPointer { table -> [UInt8]? in
            var len = 0
            while len < n {
                let c = src[len]
                if c == UInt8(ascii: "=") { break }
                if table[Int(c)] == 0xff { return nil }
                len += 1
            }
            let tail = len & 3
            if tail == 1 { return nil }
            let outCount = len / 4 * 3 + (tail == 0 ? 0 : tail - 1)
            return [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
                var i = 0
                var j = 0
                let full = len - tail
                while i < full {
                    let v = UInt32(table[Int(src[i])]) << 18 | UInt32(table[Int(src[i + 1])]) << 12
                        | UInt32(table[Int(src[i + 2])]) << 6 | UInt32(table[Int(src[i + 3])])
                    out[j] = UInt8(truncatingIfNeeded: v >> 16)
                    out[j + 1] = UInt8(truncatingIfNeeded: v >> 8)
                    out[j + 2] = UInt8(truncatingIfNeeded: v)
                    i += 4
                    j += 3
                }
                if tail >= 2 {
                    var v = UInt32(table[Int(src[i])]) << 18 | UInt32(table[Int(src[i + 1])]) << 12
                    if tail == 3 { v |= UInt32(table[Int(src[i + 2])]) << 6 }
                    out[j] = UInt8(truncatingIfNeeded: v >> 16)
                    j += 1
                    if tail == 3 {
                        out[j] = UInt8(truncatingIfNeeded: v >> 8)
                        j += 1
                    }
                }
                initialized = j
            }
        }
    }

    /// `ngx.decode_base64` over an array.
    public static func decodeBase64(_ bytes: [UInt8]) -> [UInt8]? {
        bytes.withUnsafeBytes { decodeBase64($0) }
    }
}

// ngx.base64's encode_base64url / decode_base64url: the URL-safe alphabet (`-`, `_`), no padding.
extension NgxCodec {
    /// `encode_base64url(s)`: base64 without padding, `+` → `-`, `/` → `_`.
    public static func encodeBase64URL(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        encodeBase64(bytes, noPadding: true).map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
    }

    /// `decode_base64url(s)` (nginx's `ngx_decode_base64url`): as ``decodeBase64(_:)`` over the
    /// URL-safe alphabet, where `+` and `/` are invalid; `nil` for invalid input.
    public static func decodeBase64URL(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var standard = [UInt8](bytes)
        for index in standard.indices {
            switch standard[index] {
            case UInt8(ascii: "="): break
            case UInt8(ascii: "+"), UInt8(ascii: "/"): return nil
            case UInt8(ascii: "-"): standard[index] = UInt8(ascii: "+")
            case UInt8(ascii: "_"): standard[index] = UInt8(ascii: "/")
            default: continue
            }
            if standard[index] == UInt8(ascii: "=") { break }
        }
        return decodeBase64(standard)
    }
}
