#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// The channel transport: the connection as the handler of a NIO channel, for event loops
/// without a ``DescriptorPoller``. Write completion is observed through writability with a
/// one-byte high water mark, so a send costs no promise allocation.
extension StreamConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        let count = incoming.readableBytes
        buffer.appendReceived(&incoming)
        if received(count) {
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readCycleEnded()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { owner?.connectionDidDrain(self) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { peerClosedInput() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let ioError = error as? IOError { recordError(ioError.errnoCode) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        transportClosed()
    }

    // MARK: Opening

    /// Opens a NIO channel to `address` (from `source` if given) with this connection as its
    /// handler; `completion` runs on the loop, told whether the kernel had said the connect
    /// was in progress (see ``StreamConnection/OpenOutcome``).
    func openChannel(
        to address: SocketAddress, from source: SocketAddress?, on eventLoop: EventLoop,
        connectTimeout: TimeAmount, bufferSize: Int,
        completion: @escaping (Result<Void, CosocketError>, _ afterInProgress: Bool) -> Void
    ) {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Set synchronously here: as bootstrap options each one costs a future
                    // chain and dynamic casts per connect.
                    if let options = channel.syncOptions {
                        try options.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: 1, high: 1))
                        try options.setOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: bufferSize))
                        try options.setOption(ChannelOptions.maxMessagesPerRead, value: 16)
                        try options.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                    }
                    try channel.pipeline.syncOperations.addHandler(self)
                }
            }
        let opened: EventLoopFuture<Channel>
        let afterInProgress: Bool
        if source == nil, NonBlockingConnect.isLocal(address) {
            // A local peer usually answers inside the call.
            switch NonBlockingConnect.start(address) {
            case .connected(let descriptor, let inProgressFirst):
                // `enableMPTCP` only drops the bootstrap's default TCP_NODELAY option here (the
                // descriptor exists, with the option set): applied by the bootstrap, it would
                // cost a future chain per connect.
                opened = bootstrap.enableMPTCP(true).withConnectedSocket(descriptor)
                afterInProgress = inProgressFirst
            case .failed(let code, let inProgressFirst):
                completion(.failure(.system(errno: code, partial: ByteBuffer())), inProgressFirst)
                return
            case .inProgress(let descriptor):
                // NIO takes only connected descriptors: the bootstrap starts over.
                Glibc.close(descriptor)
                afterInProgress = false
                opened = bootstrap.connectTimeout(connectTimeout).connect(to: address)
            }
        } else {
            afterInProgress = false
            var connecting = bootstrap.connectTimeout(connectTimeout)
            if let source { connecting = connecting.bind(to: source) }
            opened = connecting.connect(to: address)
        }
        opened.whenComplete { result in
            switch result {
            case .success: completion(.success(()), afterInProgress)
            case .failure(let error): completion(.failure(CosocketError(connectFailure: error)), afterInProgress)
            }
        }
    }

    // MARK: Operations

    func channelResumeReading() {
        try? context?.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
    }

    func channelWrite<Buffers: Sequence<ByteBuffer>>(_ buffers: Buffers) -> Bool {
        guard let context else { return false }
        for data in buffers { context.write(wrapOutboundOut(data), promise: nil) }
        context.flush()
        return !isClosed && context.channel.isWritable
    }

    func channelClose() {
        guard let context else { return }
        if insideInputNotification {
            // NIO fires read-complete just before it half-closes the input on an end of stream,
            // and that step assumes the channel is still open; close once the event is handled.
            context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }

    func channelSetOption(_ option: TCPSocketOption, value: Int) -> Result<Void, CosocketError> {
        guard let channel = context?.channel else { return .failure(.closedEmpty) }
        do {
            try channel.syncOptions?.setOption(option.channelOption, value: value)
            return .success(())
        } catch let error as IOError {
            return .failure(.system(errno: error.errnoCode, partial: ByteBuffer()))
        } catch {
            return .failure(.closedEmpty)
        }
    }

    func channelGetOption(_ option: TCPSocketOption) -> Result<Int, CosocketError> {
        guard let channel = context?.channel else { return .failure(.closedEmpty) }
        do {
            guard let value = try channel.syncOptions?.getOption(option.channelOption) else { return .failure(.closedEmpty) }
            return .success(value)
        } catch let error as IOError {
            return .failure(.system(errno: error.errnoCode, partial: ByteBuffer()))
        } catch {
            return .failure(.closedEmpty)
        }
    }
}

extension CosocketError {
    /// What a failed NIO connect (a stream bootstrap's or a datagram channel's) reports.
    init(connectFailure error: any Error) {
        if let ioError = error as? IOError {
            self = .system(errno: ioError.errnoCode, partial: ByteBuffer())
        } else if case ChannelError.connectTimeout = error {
            self = .timeoutEmpty
        } else if let connectionError = error as? NIOConnectionError,
            let ioError = connectionError.connectionErrors.first?.error as? IOError
        {
            self = .system(errno: ioError.errnoCode, partial: ByteBuffer())
        } else {
            self = .closedEmpty
        }
    }
}
