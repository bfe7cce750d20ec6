import COpenSSL

/// `ngx.md5`, `ngx.md5_bin`, `ngx.sha1_bin` and `ngx.hmac_sha1` over libcrypto, which the
/// reference calls too (nginx's `ngx_md5` is OpenSSL's MD5 in Debian's build, and
/// lua-nginx-module calls `SHA1` and `HMAC` directly). The same library lua-resty-string
/// reaches through `ffi.C`.
extension NgxCodec {
    /// `ngx.md5_bin(str)`: the 16 raw bytes of the MD5 digest.
    public static func md5(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 16) { digest, count in
            _ = MD5(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, digest.baseAddress)
            count = 16
        }
    }

    /// `ngx.md5_bin` over an array.
    public static func md5(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { md5($0) }
    }

    /// `ngx.md5(str)`: the MD5 digest as 32 bytes of lower-case hex text.
    public static func md5Hex(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        lowerHex(md5(bytes))
    }

    /// `ngx.md5` over an array.
    public static func md5Hex(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { md5Hex($0) }
    }

    /// `ngx.sha1_bin(str)`: the 20 raw bytes of the SHA-1 digest.
    public static func sha1(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 20) { digest, count in
            _ = SHA1(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, digest.baseAddress)
            count = 20
        }
    }

    /// `ngx.sha1_bin` over an array.
    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha1($0) }
    }

    /// `ngx.hmac_sha1(secret_key, str)`: the 20 raw bytes of HMAC-SHA1 (RFC 2104), OpenSSL's
    /// `HMAC` as lua-nginx-module calls it.
    public static func hmacSHA1(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> [UInt8] {
        // HMAC refuses a null key pointer even with a length of 0.
        var empty: UInt8 = 0
        return withUnsafePointer(to: &empty) { fallback in
            [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { digest, count in
                var length: UInt32 = 0
                let keyPointer = key.baseAddress ?? UnsafeRawPointer(fallback)
                _ = HMAC(EVP_sha1(), keyPointer, Int32(clamping: key.count),
                         message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? fallback, message.count,
                         digest.baseAddress, &length)
                count = Int(min(length, 20))
            }
        }
    }

    /// `ngx.hmac_sha1` over arrays.
    public static func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in hmacSHA1(key: k, message: m) } }
    }
}
