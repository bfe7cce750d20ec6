import NIOCore
import NIOPosix

/// A datagram socket's fallback transport, on loops without a readiness set: a connected NIO
/// datagram channel. Datagrams that arrive while no read waits are kept (up to
/// ``queueLimit``, like a socket's receive buffer, which drops what does not fit); an ICMP
/// error NIO reports (`ECONNREFUSED`) is handed to the next read, as the kernel hands it to
/// the next `recv`.
final class DatagramChannelTransport: ChannelInboundHandler, DatagramTransport {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private static let queueLimit = 256
    private let remote: SocketAddress
    private var channel: Channel?
    private var received = CircularBuffer<ByteBuffer>()
    private var pendingError: Int32?
    private var socket: DatagramSocket? {
        get {
            socketCheck.verify()
            return uncheckedSocket
        }
        set {
            uncheckedSocket = newValue
            socketCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedSocket: DatagramSocket?
    /// Debug builds: asserts that the object is alive whenever `socket` is read.
    private var socketCheck = UnownedReferenceCheck()

    private init(remote: SocketAddress, socket: DatagramSocket) {
        self.remote = remote
        self.socket = socket
    }

    static func open(
        _ address: SocketAddress, from source: SocketAddress?, on eventLoop: EventLoop, socket: DatagramSocket
    ) -> EventLoopFuture<DatagramChannelTransport> {
        let transport = DatagramChannelTransport(remote: address, socket: socket)
        let bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: DatagramSocketState.maximumDatagramSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(transport) }
            }
        let opened: EventLoopFuture<Channel>
        if let source {
            // Bound first, then associated with the peer.
            opened = bootstrap.bind(to: source).flatMap { channel in
                channel.connect(to: address).map { channel }
            }
        } else {
            opened = bootstrap.connect(to: address)
        }
        return opened.map { channel in
            transport.channel = channel
            return transport
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard received.count < Self.queueLimit else { return }
        received.append(envelope.data)
        socket?.transportReadable()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let ioError = error as? IOError else { return }
        pendingError = ioError.errnoCode
        socket?.transportReadable()
    }

    func send(_ data: ByteBuffer) -> Result<Void, CosocketError> {
        if let code = pendingError {
            pendingError = nil
            return .failure(.system(errno: code, partial: ByteBuffer()))
        }
        guard let channel, channel.isActive else { return .failure(.closed(partial: ByteBuffer())) }
        // NIO reports a refused write (`EMSGSIZE`) only later: the fallback cannot return it.
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: data), promise: nil)
        return .success(())
    }

    func receive(maximum: Int) -> Result<ByteBuffer, CosocketError>? {
        if let code = pendingError {
            pendingError = nil
            return .failure(.system(errno: code, partial: ByteBuffer()))
        }
        guard var datagram = received.popFirst() else { return nil }
        if datagram.readableBytes > maximum { datagram.moveWriterIndex(to: datagram.readerIndex + maximum) }
        return .success(datagram)
    }

    func close() {
        socket = nil
        channel?.close(promise: nil)
        channel = nil
        received.removeAll()
    }
}
