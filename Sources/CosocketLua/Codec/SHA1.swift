// ngx.sha1_bin / ngx.hmac_sha1: SHA-1 (FIPS 180-4), implemented here so the module needs no crypto library.

extension NgxCodec {
    /// Incremental SHA1: feed bytes with `update` in any chunking, then `finalize`.
    typealias SHA1Hasher = BlockHasher<SHA1State>

    /// SHA-1's chaining state words and compression function (FIPS 180-4).
    struct SHA1State: BlockHashState {
        static let lengthOrder = LengthByteOrder.bigEndian

        var h0: UInt32 = 0x6745_2301
        var h1: UInt32 = 0xefcd_ab89
        var h2: UInt32 = 0x98ba_dcfe
        var h3: UInt32 = 0x1032_5476
        var h4: UInt32 = 0xc3d2_e1f0

        /// The digest bytes of the current state.
        func digest() -> [UInt8] {
            let digest = (h0.bigEndian, h1.bigEndian, h2.bigEndian, h3.bigEndian, h4.bigEndian)
            return withUnsafeBytes(of: digest) { [UInt8]($0) }
        }

        @inline(__always)
        private static func rotl(_ x: UInt32, _ s: UInt32) -> UInt32 { (x << s) | (x >> (32 - s)) }

        /// Processes one 64-byte block at `p` (any alignment).
        mutating func compress(_ p: UnsafeRawPointer) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                for i in 0..<16 {
                    w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                }
                for i in 16..<80 {
                    w[i] = Self.rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1)
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4
                for i in 0..<20 {
                    let t = Self.rotl(a, 5) &+ ((b & c) | (~b & d)) &+ e &+ 0x5a82_7999 &+ w[i]
                    e = d; d = c; c = Self.rotl(b, 30); b = a; a = t
                }
                for i in 20..<40 {
                    let t = Self.rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0x6ed9_eba1 &+ w[i]
                    e = d; d = c; c = Self.rotl(b, 30); b = a; a = t
                }
                for i in 40..<60 {
                    let t = Self.rotl(a, 5) &+ ((b & c) | (b & d) | (c & d)) &+ e &+ 0x8f1b_bcdc &+ w[i]
                    e = d; d = c; c = Self.rotl(b, 30); b = a; a = t
                }
                for i in 60..<80 {
                    let t = Self.rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0xca62_c1d6 &+ w[i]
                    e = d; d = c; c = Self.rotl(b, 30); b = a; a = t
                }
                h0 &+= a
                h1 &+= b
                h2 &+= c
                h3 &+= d
                h4 &+= e
            }
        }
    }


    /// `ngx.sha1_bin(str)`: the 20 raw bytes of the SHA-1 digest.
    public static func sha1(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var h = SHA1Hasher()
        h.update(bytes)
        return h.finalize()
    }

    /// `ngx.sha1_bin` over an array.
    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { sha1($0) }
    }

    /// `ngx.hmac_sha1(secret_key, str)`: the 20 raw bytes of HMAC-SHA1 (RFC 2104); keys longer
    /// than 64 bytes are hashed first, as in OpenSSL's HMAC which ngx_lua calls.
    public static func hmacSHA1(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> [UInt8] {
        var keyBlock: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &keyBlock) { kb in
            if key.count > 64 {
                let hashed = sha1(key)
                hashed.withUnsafeBytes { kb.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 20) }
            } else if let base = key.baseAddress, key.count > 0 {
                kb.baseAddress!.copyMemory(from: base, byteCount: key.count)
            }
        }
        var inner = SHA1Hasher()
        var outer = SHA1Hasher()
        withUnsafeMutableBytes(of: &keyBlock) { kb in
            for i in 0..<64 { kb[i] ^= 0x36 }
            inner.update(UnsafeRawBufferPointer(kb))
            for i in 0..<64 { kb[i] ^= 0x36 ^ 0x5c }
            outer.update(UnsafeRawBufferPointer(kb))
        }
        inner.update(message)
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// `ngx.hmac_sha1` over arrays.
    public static func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { k in message.withUnsafeBytes { m in hmacSHA1(key: k, message: m) } }
    }
}
