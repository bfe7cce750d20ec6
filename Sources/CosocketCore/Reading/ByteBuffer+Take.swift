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
        var data = getSlice(at: readerIndex, length: count) ?? ByteBuffer()
        moveReaderIndex(forwardBy: consume)
        if strippingCR, data.readableBytesView.contains(UInt8(ascii: "\r")) {
            var stripped = ByteBuffer()
            stripped.reserveCapacity(count)
            for byte in data.readableBytesView where byte != UInt8(ascii: "\r") { stripped.writeInteger(byte) }
            data = stripped
        }
        return data
    }
}
