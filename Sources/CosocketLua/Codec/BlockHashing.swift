// Shared 64-byte block hashing (buffering, Merkle–Damgård padding) for MD5 and SHA-1.

extension NgxCodec {
    /// Byte order of the 64-bit message bit length appended by `BlockBuffer.pad`.
    enum LengthByteOrder: Sendable {
        /// MD5 (RFC 1321).
        case littleEndian
        /// SHA-1 (FIPS 180-4).
        case bigEndian
    }

    /// The partial-block and length bookkeeping of a 64-byte-block hash. The hasher keeps its
    /// state words and supplies its compression function to `absorb` / `pad`.
    struct BlockBuffer: Sendable {
        /// Partial block, 64 bytes of inline storage (no heap allocation).
        private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        private var blockCount = 0
        private var totalBytes: UInt64 = 0

        init() {}

        /// Appends bytes to the message, calling `compress` once per complete 64-byte block;
        /// full blocks are compressed straight from `bytes`, the remainder is buffered.
        /// The pointer passed to `compress` may be unaligned and is valid only during the call.
        mutating func absorb(_ bytes: UnsafeRawBufferPointer, compress: (UnsafeRawPointer) -> Void) {
            guard var p = bytes.baseAddress else { return }
            var n = bytes.count
            totalBytes &+= UInt64(n)
            if blockCount > 0 {
                let take = min(64 - blockCount, n)
                let offset = blockCount
                withUnsafeMutableBytes(of: &block) { buf in
                    (buf.baseAddress! + offset).copyMemory(from: p, byteCount: take)
                }
                blockCount += take
                p += take
                n -= take
                if blockCount < 64 { return }
                withUnsafeBytes(of: &block) { compress($0.baseAddress!) }
                blockCount = 0
            }
            while n >= 64 {
                compress(p)
                p += 64
                n -= 64
            }
            if n > 0 {
                withUnsafeMutableBytes(of: &block) { buf in
                    buf.baseAddress!.copyMemory(from: p, byteCount: n)
                }
                blockCount = n
            }
        }

        /// Pads the message: 0x80, zeros up to 56 mod 64, then the message length in bits as a
        /// 64-bit integer in `lengthOrder`, compressing the final block(s). Call once, last.
        mutating func pad(lengthOrder: LengthByteOrder, compress: (UnsafeRawPointer) -> Void) {
            let bitLength = totalBytes &* 8
            var pad: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
            let padCount = blockCount < 56 ? 56 - blockCount : 120 - blockCount
            withUnsafeMutableBytes(of: &pad) { buf in
                buf[0] = 0x80
                absorb(UnsafeRawBufferPointer(rebasing: buf[0..<padCount]), compress: compress)
            }
            var length = lengthOrder == .littleEndian ? bitLength.littleEndian : bitLength.bigEndian
            withUnsafeBytes(of: &length) { absorb($0, compress: compress) }
        }
    }

    /// The chaining state of a 64-byte-block hash: its initial words (`init()`), the byte
    /// order of the appended length, the compression function and the digest.
    protocol BlockHashState: Sendable {
        init()
        static var lengthOrder: LengthByteOrder { get }
        /// Processes one 64-byte block at `block` (any alignment).
        mutating func compress(_ block: UnsafeRawPointer)
        func digest() -> [UInt8]
    }

    /// Incremental hashing over a ``BlockHashState``: feed bytes with `update` in any
    /// chunking, then `finalize` once.
    struct BlockHasher<State: BlockHashState>: Sendable {
        private var state = State()
        private var buffer = BlockBuffer()

        init() {}

        mutating func update(_ bytes: UnsafeRawBufferPointer) {
            buffer.absorb(bytes) { state.compress($0) }
        }

        mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        /// Pads the message and returns the digest (the hasher should not be reused).
        mutating func finalize() -> [UInt8] {
            buffer.pad(lengthOrder: State.lengthOrder) { state.compress($0) }
            return state.digest()
        }
    }
}
