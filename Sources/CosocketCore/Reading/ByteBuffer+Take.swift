#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

extension ByteBuffer {
    /// Adds bytes a channel read to this receive buffer: an empty buffer simply becomes the
    /// channel's (no copy on the common path); otherwise consumed bytes are dropped before the
    /// buffer would have to grow.
    public mutating func appendReceived(_ incoming: inout ByteBuffer) {
        if readableBytes == 0 {
            self = incoming
            return
        }
        if writableBytes < incoming.readableBytes && readerIndex > 0 {
            discardReadBytes()
        }
        writeBuffer(&incoming)
    }

    /// Removes `consume` bytes from the front and returns the first `count` of them, as a view of
    /// the same storage unless CR bytes must be dropped (`*l` drops every CR in the line).
    mutating func takeBytes(_ count: Int, consuming consume: Int, strippingCR: Bool) -> ByteBuffer {
        let count = Swift.min(count, readableBytes)
        guard strippingCR else {
            let data = getSlice(at: readerIndex, length: count) ?? ByteBuffer()
            moveReaderIndex(forwardBy: consume)
            return data
        }
        // A CRLF-ended line has its one CR at the end: a shorter view, no copy.
        let carriageReturns = withUnsafeReadableBytes { bytes in Self.carriageReturnCount(bytes, count) }
        if carriageReturns.count == 0 || (carriageReturns.count == 1 && carriageReturns.last == count - 1) {
            let data = getSlice(at: readerIndex, length: count - carriageReturns.count) ?? ByteBuffer()
            moveReaderIndex(forwardBy: consume)
            return data
        }
        var stripped = ByteBuffer()
        stripped.reserveCapacity(count - carriageReturns.count)
        withUnsafeReadableBytes { bytes in
            // Copies the runs between CRs.
            var start = 0
            while start < count {
                let end = bytes[start..<count].firstIndex(of: UInt8(ascii: "\r")) ?? count
                if end > start { stripped.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) }
                start = end + 1
            }
        }
        moveReaderIndex(forwardBy: consume)
        return stripped
    }

    /// How many CR bytes the first `count` bytes hold, and the index of the last one.
    private static func carriageReturnCount(_ bytes: UnsafeRawBufferPointer, _ count: Int) -> (count: Int, last: Int) {
        var found = 0
        var last = -1
        var position = 0
        while position < count, let base = bytes.baseAddress,
            let hit = memchr(base + position, Int32(UInt8(ascii: "\r")), count - position)
        {
            let index = base.distance(to: UnsafeRawPointer(hit))
            found += 1
            last = index
            position = index + 1
        }
        return (found, last)
    }
}
