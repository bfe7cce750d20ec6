import NIOCore

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
