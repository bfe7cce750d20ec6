import CosocketLua
import NIOCore

/// One client connection: reads request heads and bodies, hands each request to the worker,
/// writes the response in one write, and keeps the connection alive between requests
/// (pipelined requests wait in the buffer until the previous response is out).
final class HTTPConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let worker: ServerWorker
    private let server: VirtualServer
    private let serverPort: Int
    private var buffer = ByteBuffer()
    private var parser = HTTPRequestParser()
    private var waitingHead: HTTPRequestHead?
    private var busy = false
    private var closed = false
    private var context: ChannelHandlerContext?

    init(worker: ServerWorker, server: VirtualServer, serverPort: Int) {
        self.worker = worker
        self.server = server
        self.serverPort = serverPort
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.appendReceived(&incoming)
        processBuffered()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? IdleStateHandler.IdleStateEvent, event == .read, !busy {
            closed = true
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        self.context = nil
    }

    private func processBuffered() {
        while !busy, !closed, let context {
            let head: HTTPRequestHead
            if let waiting = waitingHead {
                head = waiting
            } else {
                do {
                    guard let parsed = try parser.parse(&buffer) else { return }
                    head = parsed
                } catch {
                    respondWithError(error.status, context: context)
                    return
                }
            }
            let match = server.locations.match(uri: head.path)
            var body: ByteBuffer?
            if let length = head.contentLength, length > 0 {
                if length > (match?.payload.clientMaxBodySize ?? (1 << 20)) {
                    respondWithError(413, context: context)
                    return
                }
                guard buffer.readableBytes >= length else {
                    waitingHead = head
                    return
                }
                body = buffer.readSlice(length: length)
            } else if head.isChunked {
                respondWithError(411, context: context)
                return
            }
            waitingHead = nil
            guard let match else {
                respondWithError(404, context: context, keepAlive: head.keepAlive)
                continue
            }
            dispatch(head, location: match.payload, body: body, context: context)
        }
    }

    private func dispatch(_ head: HTTPRequestHead, location: LocationConfiguration, body: ByteBuffer?, context: ChannelHandlerContext) {
        busy = true
        let remote = context.channel.remoteAddress?.ipAddress ?? ""
        let request = RequestContext(head: head, body: body, location: location, remoteAddress: remote, serverPort: serverPort)
        let keepAlive = head.keepAlive
        worker.handle(request) { [self] request in
            busy = false
            guard let context = self.context, !closed else { return }
            let response = request.serialize(keepAlive: keepAlive, allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(response), promise: nil)
            if !keepAlive {
                closed = true
                context.close(promise: nil)
            } else {
                processBuffered()
            }
        }
    }

    private func respondWithError(_ status: Int, context: ChannelHandlerContext, keepAlive: Bool = false) {
        var head = HTTPResponseHead()
        head.status = status
        let page = HTTPResponseHead.errorPage(status)
        var out = context.channel.allocator.buffer(capacity: 256 + page.utf8.count)
        head.write(into: &out, version: "HTTP/1.1", bodyLength: page.utf8.count, keepAlive: keepAlive, defaultType: "text/html")
        out.writeString(page)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        if !keepAlive {
            closed = true
            context.close(promise: nil)
        }
    }
}
