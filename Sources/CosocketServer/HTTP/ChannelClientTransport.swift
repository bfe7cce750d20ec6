import CosocketCore
import NIOCore

/// The client transport over a NIO channel (loops without a readiness set): the channel's
/// handler, which feeds its connection and carries its writes.
final class ChannelClientTransport: ChannelInboundHandler, ClientTransport, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    /// The worker's list of connections keeps it; the channel outlives it only while closing.
    weak var connection: HTTPConnection?
    private var received = ByteBuffer()
    private let engine: CosocketEngine
    private var readingPaused = false

    init(engine: CosocketEngine) {
        self.engine = engine
    }

    var remoteAddress: SocketAddress? { context?.channel.remoteAddress }
    var isFlushed: Bool { context?.channel.isWritable ?? true }
    /// NIO does not count what its channel holds: 1 while it is over its high-water mark,
    /// so `send_timeout` runs from the moment the channel became unwritable.
    var unsentByteCount: Int { isFlushed ? 0 : 1 }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        connection?.opened()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        received.appendReceived(&incoming)
        connection?.bytesArrived()
    }

    func takeReceived(into buffer: inout ByteBuffer) {
        buffer.appendReceived(&received)
        received.clear()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        connection?.transportClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Operations

    func wantInput() {
        guard readingPaused else { return }
        readingPaused = false
        try? context?.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
    }

    func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        try? context?.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
    }

    func write(_ bytes: ByteBuffer, whenWritten: (() -> Void)?) -> Bool {
        guard let context else { return false }
        guard let whenWritten else {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            return false
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in whenWritten() }
        context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
        return true
    }

    func close() {
        context?.close(promise: nil)
        // NIO finishes a close on a later turn of the loop.
        engine.noteLoopWork()
    }

    func closeAfterWrites() {
        guard let context else { return }
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        written.futureResult.whenComplete { _ in context.close(promise: nil) }
        engine.noteLoopWork()
    }
}
