// ngx.crc32_short / ngx.crc32_long: CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320).

extension NgxCodec {
    /// Slice-by-8 tables: entry `k * 256 + b` is the CRC of byte `b` followed by `k` zero bytes.
    private static let crc32Tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            var c = t[i]
            for k in 1..<8 {
                c = t[Int(c & 0xff)] ^ (c >> 8)
                t[k * 256 + i] = c
            }
        }
        return t
    }()

    /// `ngx.crc32_short(str)`: CRC-32 of `bytes` as an unsigned 32-bit number (the Lua binding
    /// pushes it as a number in 0...4294967295). nginx uses a small table meant for short inputs;
    /// the value is identical to `crc32Long`.
    public static func crc32Short(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        crc32Tables.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xffff_ffff
            for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8) }
            return crc ^ 0xffff_ffff
        }
    }

    /// `ngx.crc32_short` over an array.
    public static func crc32Short(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32Short($0) }
    }

    /// `ngx.crc32_long(str)`: CRC-32 of `bytes` (same value as `crc32Short`), computed
    /// eight bytes at a time because it is meant for long inputs.
    public static func crc32Long(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress else { return 0 }
        var n = bytes.count
        return crc32Tables.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xffff_ffff
            while n >= 8 {
                let lo = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) ^ crc
                let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                crc = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                p += 1
                n -= 1
            }
            return crc ^ 0xffff_ffff
        }
    }

    /// `ngx.crc32_long` over an array.
    public static func crc32Long(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32Long($0) }
    }
}
