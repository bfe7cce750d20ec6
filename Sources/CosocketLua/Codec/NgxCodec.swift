// Namespace for the byte-level helpers behind lua-nginx-module's `ngx.*` string functions.

/// Pure, allocation-light byte codecs that reproduce the exact behaviour of lua-nginx-module's
/// string API (`ngx.encode_base64`, `ngx.md5`, `ngx.escape_uri`, `ngx.decode_args`, ...).
///
/// Everything works on raw bytes (`[UInt8]` or `UnsafeRawBufferPointer`, which is what a Lua
/// binding gets from `lua_tolstring`) because Lua strings are byte strings: no UTF-8 validation,
/// no Foundation. Each function's doc comment names the `ngx.*` function it backs and the
/// edge cases that were checked against the reference implementation (nginx 1.22 + ngx_lua 0.10.23).
public enum NgxCodec {}

extension NgxCodec {
    /// Lower-case hex digit for a nibble (0...15): `ngx.md5` returns lower-case hex.
    @inline(__always)
    static func lowerHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 &+ nibble : 0x57 &+ nibble
    }

    /// Lower-case hex text of `bytes`, the format of `ngx.md5` (used for digests).
    static func lowerHex(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count * 2) { out, initialized in
            var j = 0
            for b in bytes {
                out[j] = lowerHexDigit(b >> 4)
                out[j + 1] = lowerHexDigit(b & 0x0f)
                j += 2
            }
            initialized = j
        }
    }
}
