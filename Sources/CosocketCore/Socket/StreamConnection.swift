import NIOCore

#if canImport(Glibc)
import Glibc
#endif

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
/// Reads are demand-driven (`autoRead` is off) as in nginx: the kernel is only asked for more
/// bytes while a read is waiting, so a slow consumer never buffers a whole stream. Write
/// completion is observed through writability with a one-byte high water mark, so a send costs
/// no promise allocation.
final class StreamConnection: ChannelInboundHandler, @unchecked Sendable {
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
    /// Set while the owner handles `channelReadComplete`.
    private var insideReadComplete = false

    /// Every byte NIO has read from the socket, to compare with the kernel's count.
    private var bytesTakenFromKernel: UInt64 = 0

    /// Where the pool files this connection, and how many times it has been reused.
    var poolKey: String
    var reuseCount = 0
    /// Armed while the connection sits idle in a pool.
    var idleTimer: Scheduled<Void>?
    /// When the connection, parked in its pool, expires; nil while it is in use.
    var idleDeadline: NIODeadline?

    init(poolKey: String) {
        self.poolKey = poolKey
        self.buffer = ByteBuffer()
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Cast once: a conformance lookup per `setkeepalive` showed in profiles.
        optionProvider = context.channel as? SocketOptionProvider
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        optionProvider = nil
    }

    private var optionProvider: SocketOptionProvider?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        bytesTakenFromKernel &+= UInt64(incoming.readableBytes)
        buffer.appendReceived(&incoming)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        insideReadComplete = true
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

    /// Asks the channel for more bytes; answered by `connectionHasInput`.
    func requestInput() {
        guard !isClosed else { return }
        context?.read()
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

    /// Whether the kernel holds bytes that nobody has read yet (TCP only; `false` when unknown).
    ///
    /// NIO does not expose the descriptor for a peek, but `TCP_INFO` counts every byte the
    /// kernel accepted in order (`tcpi_bytes_received`); what NIO has not read is the rest.
    var hasUnreadBytesInKernel: Bool {
        guard let provider = optionProvider else { return false }
        var received: UInt64?
        let future: EventLoopFuture<TCPInfoBytes> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(IPPROTO_TCP),
            name: SocketOptionName(TCP_INFO)
        )
        // On the loop the option is read synchronously, so the future is already complete.
        future.whenSuccess { info in received = info.bytesReceived }
        guard let received else { return false }
        return received > bytesTakenFromKernel
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
        // A pool's idle timer may still be pending from an earlier park.
        idleTimer?.cancel()
        idleTimer = nil
        idleDeadline = nil
        guard let context else { return }
        if insideReadComplete {
            // NIO fires read-complete just before it half-closes the input on an end of stream,
            // and that step assumes the channel is still open; close once the event is handled.
            context.eventLoop.execute { context.close(promise: nil) }
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

/// Linux's `struct tcp_info` as raw bytes (glibc's declaration predates the field we need).
struct TCPInfoBytes: Sendable {
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                          UInt64, UInt64, UInt64, UInt64, UInt64)

    /// `tcpi_bytes_received`, at offset 128 since Linux 4.1; zero on older kernels.
    var bytesReceived: UInt64 {
        withUnsafeBytes(of: storage) { $0.load(fromByteOffset: 128, as: UInt64.self) }
    }
}
