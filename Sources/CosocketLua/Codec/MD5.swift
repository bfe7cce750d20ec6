// ngx.md5 / ngx.md5_bin: MD5 (RFC 1321), implemented here so the module needs no crypto library.

extension NgxCodec {
    /// Incremental MD5: feed bytes with `update` in any chunking, then `finalize`.
    typealias MD5Hasher = BlockHasher<MD5State>

    /// MD5's chaining state words and compression function (RFC 1321).
    struct MD5State: BlockHashState {
        static let lengthOrder = LengthByteOrder.littleEndian

        var a: UInt32 = 0x6745_2301
        var b: UInt32 = 0xefcd_ab89
        var c: UInt32 = 0x98ba_dcfe
        var d: UInt32 = 0x1032_5476

        /// The digest bytes of the current state.
        func digest() -> [UInt8] {
            let digest = (a.littleEndian, b.littleEndian, c.littleEndian, d.littleEndian)
            return withUnsafeBytes(of: digest) { [UInt8]($0) }
        }

        @inline(__always)
        private static func rotl(_ x: UInt32, _ s: UInt32) -> UInt32 { (x << s) | (x >> (32 - s)) }

        @inline(__always)
        private func md5F(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
            b &+ Self.rotl(a &+ ((b & c) | (~b & d)) &+ x &+ k, s)
        }

        @inline(__always)
        private func md5G(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
            b &+ Self.rotl(a &+ ((b & d) | (c & ~d)) &+ x &+ k, s)
        }

        @inline(__always)
        private func md5H(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
            b &+ Self.rotl(a &+ (b ^ c ^ d) &+ x &+ k, s)
        }

        @inline(__always)
        private func md5I(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ k: UInt32, _ s: UInt32) -> UInt32 {
            b &+ Self.rotl(a &+ (c ^ (b | ~d)) &+ x &+ k, s)
        }

        /// Processes one 64-byte block at `p` (any alignment).
        mutating func compress(_ p: UnsafeRawPointer) {
            @inline(__always) func w(_ i: Int) -> UInt32 {
                UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            }
            let x0 = w(0), x1 = w(1), x2 = w(2), x3 = w(3), x4 = w(4), x5 = w(5), x6 = w(6), x7 = w(7)
            let x8 = w(8), x9 = w(9), x10 = w(10), x11 = w(11), x12 = w(12), x13 = w(13), x14 = w(14), x15 = w(15)
            var a = self.a, b = self.b, c = self.c, d = self.d
            a = md5F(a, b, c, d, x0, 0xd76aa478, 7)
            d = md5F(d, a, b, c, x1, 0xe8c7b756, 12)
            c = md5F(c, d, a, b, x2, 0x242070db, 17)
            b = md5F(b, c, d, a, x3, 0xc1bdceee, 22)
            a = md5F(a, b, c, d, x4, 0xf57c0faf, 7)
            d = md5F(d, a, b, c, x5, 0x4787c62a, 12)
            c = md5F(c, d, a, b, x6, 0xa8304613, 17)
            b = md5F(b, c, d, a, x7, 0xfd469501, 22)
            a = md5F(a, b, c, d, x8, 0x698098d8, 7)
            d = md5F(d, a, b, c, x9, 0x8b44f7af, 12)
            c = md5F(c, d, a, b, x10, 0xffff5bb1, 17)
            b = md5F(b, c, d, a, x11, 0x895cd7be, 22)
            a = md5F(a, b, c, d, x12, 0x6b901122, 7)
            d = md5F(d, a, b, c, x13, 0xfd987193, 12)
            c = md5F(c, d, a, b, x14, 0xa679438e, 17)
            b = md5F(b, c, d, a, x15, 0x49b40821, 22)
            a = md5G(a, b, c, d, x1, 0xf61e2562, 5)
            d = md5G(d, a, b, c, x6, 0xc040b340, 9)
            c = md5G(c, d, a, b, x11, 0x265e5a51, 14)
            b = md5G(b, c, d, a, x0, 0xe9b6c7aa, 20)
            a = md5G(a, b, c, d, x5, 0xd62f105d, 5)
            d = md5G(d, a, b, c, x10, 0x02441453, 9)
            c = md5G(c, d, a, b, x15, 0xd8a1e681, 14)
            b = md5G(b, c, d, a, x4, 0xe7d3fbc8, 20)
            a = md5G(a, b, c, d, x9, 0x21e1cde6, 5)
            d = md5G(d, a, b, c, x14, 0xc33707d6, 9)
            c = md5G(c, d, a, b, x3, 0xf4d50d87, 14)
            b = md5G(b, c, d, a, x8, 0x455a14ed, 20)
            a = md5G(a, b, c, d, x13, 0xa9e3e905, 5)
            d = md5G(d, a, b, c, x2, 0xfcefa3f8, 9)
            c = md5G(c, d, a, b, x7, 0x676f02d9, 14)
            b = md5G(b, c, d, a, x12, 0x8d2a4c8a, 20)
            a = md5H(a, b, c, d, x5, 0xfffa3942, 4)
            d = md5H(d, a, b, c, x8, 0x8771f681, 11)
            c = md5H(c, d, a, b, x11, 0x6d9d6122, 16)
            b = md5H(b, c, d, a, x14, 0xfde5380c, 23)
            a = md5H(a, b, c, d, x1, 0xa4beea44, 4)
            d = md5H(d, a, b, c, x4, 0x4bdecfa9, 11)
            c = md5H(c, d, a, b, x7, 0xf6bb4b60, 16)
            b = md5H(b, c, d, a, x10, 0xbebfbc70, 23)
            a = md5H(a, b, c, d, x13, 0x289b7ec6, 4)
            d = md5H(d, a, b, c, x0, 0xeaa127fa, 11)
            c = md5H(c, d, a, b, x3, 0xd4ef3085, 16)
            b = md5H(b, c, d, a, x6, 0x04881d05, 23)
            a = md5H(a, b, c, d, x9, 0xd9d4d039, 4)
            d = md5H(d, a, b, c, x12, 0xe6db99e5, 11)
            c = md5H(c, d, a, b, x15, 0x1fa27cf8, 16)
            b = md5H(b, c, d, a, x2, 0xc4ac5665, 23)
            a = md5I(a, b, c, d, x0, 0xf4292244, 6)
            d = md5I(d, a, b, c, x7, 0x432aff97, 10)
            c = md5I(c, d, a, b, x14, 0xab9423a7, 15)
            b = md5I(b, c, d, a, x5, 0xfc93a039, 21)
            a = md5I(a, b, c, d, x12, 0x655b59c3, 6)
            d = md5I(d, a, b, c, x3, 0x8f0ccc92, 10)
            c = md5I(c, d, a, b, x10, 0xffeff47d, 15)
            b = md5I(b, c, d, a, x1, 0x85845dd1, 21)
            a = md5I(a, b, c, d, x8, 0x6fa87e4f, 6)
            d = md5I(d, a, b, c, x15, 0xfe2ce6e0, 10)
            c = md5I(c, d, a, b, x6, 0xa3014314, 15)
            b = md5I(b, c, d, a, x13, 0x4e0811a1, 21)
            a = md5I(a, b, c, d, x4, 0xf7537e82, 6)
            d = md5I(d, a, b, c, x11, 0xbd3af235, 10)
            c = md5I(c, d, a, b, x2, 0x2ad7d2bb, 15)
            b = md5I(b, c, d, a, x9, 0xeb86d391, 21)
            self.a &+= a
            self.b &+= b
            self.c &+= c
            self.d &+= d
        }
    }


    /// `ngx.md5_bin(str)`: the 16 raw bytes of the MD5 digest.
    public static func md5(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var h = MD5Hasher()
        h.update(bytes)
        return h.finalize()
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
}
