import NIOCore

/// Whoever is currently responsible for a connection: the socket that uses it, or the pool
/// that keeps it idle. Exactly one owner at a time receives its events.
protocol StreamConnectionOwner: AnyObject {
    /// Bytes, end of stream or a read error arrived.
    func connectionHasInput(_ connection: StreamConnection)
    /// Every byte written so far has reached the kernel.
    func connectionDidDrain(_ connection: StreamConnection)
    /// The channel is gone (closed by us, by the peer, or by an error).
    func connectionDidClose(_ connection: StreamConnection)
}

/// One TCP or unix-domain connection and its receive buffer; the unit a pool keeps.
///
/// The channel reads as bytes arrive (`autoRead`), which keeps the descriptor registered with
/// epoll the way nginx keeps it: asking for each read and dropping interest after it cost two
/// `epoll_ctl` calls per receive. A consumer that falls behind by `pauseThreshold` bytes
/// pauses reading until it takes them, so a slow consumer never buffers a whole stream. Write
/// completion is observed through writability with a one-byte high water mark, so a send costs
/// no promise allocation.
final class StreamConnection: ChannelInboundHandler, DeadlineQueueMember, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    /// A weak reference: a socket dropped without closing must not leave a dangling owner.
    weak var owner: (any StreamConnectionOwner)?

    /// Received bytes not yet handed to a reader.
    var buffer: ByteBuffer
    /// The peer closed its side (or the channel closed): no more bytes will arrive.
    private(set) var inputClosed = false
    /// The first system error seen on the channel, reported to the next operation.
    private(set) var errorCode: Int32?
    private(set) var isClosed = false
    /// Set while the owner handles input (from `channelRead` or `channelReadComplete`).
    private var insideReadComplete = false
    /// Bytes arrived while nobody waited, not yet reported to the owner.
    private var unreportedInput = false

    /// Where the pool files this connection, and how many times it has been reused.
    var poolKey: String
    var reuseCount = 0
    /// Where the connection waits in the engine's idle-deadline queue while pooled.
    var deadlineQueueSlot = -1

    /// Buffered bytes at which reading pauses until the owner takes some.
    private let pauseThreshold: Int
    private var readingPaused = false
    /// Whether the owner waits for bytes (nginx would be inside `recv` for it).
    private var inputWanted = false
    /// Bytes at the end of `buffer` that arrived while nobody waited: nginx would still
    /// have them in the kernel, its read event ready, so `setkeepalive` calls them a dubious
    /// state rather than unread data.
    private(set) var bytesReadAhead = 0

    init(poolKey: String, pauseThreshold: Int) {
        self.poolKey = poolKey
        self.pauseThreshold = max(pauseThreshold, 16 * 1024)
        self.buffer = ByteBuffer()
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if !inputWanted { bytesReadAhead += incoming.readableBytes }
        buffer.appendReceived(&incoming)
        if inputWanted {
            // A waiting reader takes its bytes now rather than after NIO's whole read cycle
            // (up to 16 reads): the buffer stays near one read's size instead of growing to
            // hold the cycle, which multiplied by the open connections showed in RSS.
            notifyOwnerOfInput()
        } else {
            unreportedInput = true
        }
        // A reader still waiting needs more whatever the buffer holds (its own pattern bounds
        // what it takes); only bytes nobody asked for pause the reading.
        if buffer.readableBytes >= pauseThreshold && !readingPaused && !inputWanted {
            readingPaused = true
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Only bytes nobody has been told about: the owner may have changed since (a reader
        // that finished and parked the connection in its pool must not hand the pool a stale
        // notification, which it would take for stray bytes).
        if unreportedInput { notifyOwnerOfInput() }
    }

    private func notifyOwnerOfInput() {
        unreportedInput = false
        insideReadComplete = true
        inputWanted = false
        owner?.connectionHasInput(self)
        insideReadComplete = false
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { owner?.connectionDidDrain(self) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            owner?.connectionHasInput(self)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if errorCode == nil, let ioError = error as? IOError { errorCode = ioError.errnoCode }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inputClosed = true
        isClosed = true
        owner?.connectionHasInput(self)
        owner?.connectionDidClose(self)
    }

    // MARK: Operations (on the loop)

    var channel: Channel? { context?.channel }

    /// A new owner (a socket taking the connection from its pool) has not asked for input
    /// yet: bytes that arrive before it does are read ahead.
    func ownerChanged() {
        inputWanted = false
        bytesReadAhead = 0
    }

    /// A read is about to take `count` buffered bytes: if that reaches into the bytes read
    /// ahead, nginx would have received them (all of them, in one `recv`) for this read.
    func consumingBuffered(_ count: Int) {
        if count > buffer.readableBytes - bytesReadAhead { bytesReadAhead = 0 }
    }

    /// The owner waits for more bytes (answered by `connectionHasInput`): reading resumes if
    /// it was paused.
    func requestInput() {
        inputWanted = true
        // What arrived ahead is what nginx would now receive for this read.
        bytesReadAhead = 0
        guard !isClosed, readingPaused, let context else { return }
        readingPaused = false
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
    }

    /// Writes and flushes; returns whether everything is already in the kernel.
    func write(_ data: ByteBuffer) -> Bool {
        guard let context, !isClosed else { return false }
        context.write(wrapOutboundOut(data), promise: nil)
        context.flush()
        return !isClosed && context.channel.isWritable
    }

    /// Writes several buffers with one gathering `writev`.
    func write<Buffers: Sequence<ByteBuffer>>(contentsOf buffers: Buffers) -> Bool {
        guard let context, !isClosed else { return false }
        for data in buffers { context.write(wrapOutboundOut(data), promise: nil) }
        context.flush()
        return !isClosed && context.channel.isWritable
    }

    /// Half-closes the write side (`shutdown("send")`).
    func shutdownOutput() {
        guard !isClosed else { return }
        context?.close(mode: .output, promise: nil)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        inputClosed = true
        guard let context else { return }
        if insideReadComplete {
            // NIO fires read-complete just before it half-closes the input on an end of stream,
            // and that step assumes the channel is still open; close once the event is handled.
            context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    /// The error a failed operation reports: the recorded system error, else `closed`.
    func failure(partial: ByteBuffer) -> CosocketError {
        if let errorCode { return .system(errno: errorCode, partial: partial) }
        return .closed(partial: partial)
    }
}


extension StreamConnection: Hashable {
    static func == (lhs: StreamConnection, rhs: StreamConnection) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
