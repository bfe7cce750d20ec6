import CosocketLua
import NIOCore

/// One client connection: reads request heads and bodies (with `Content-Length` or chunked),
/// hands each request to the worker, carries its response out, and keeps the connection alive
/// between requests (pipelined requests wait in the buffer until the previous one has ended).
final class HTTPConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let worker: ServerWorker
    /// Picks the `server {}` for each request's `Host`.
    private let router: ServerNameRouter<VirtualServer>
    private let serverPort: Int
    private var buffer = ByteBuffer()
    private var parser = HTTPRequestParser()
    /// A head whose body has not fully arrived yet.
    private var waitingHead: HTTPRequestHead?
    private var chunkedBody: (decoder: ChunkedBodyDecoder, collected: ByteBuffer)?
    /// The request in progress; the next one waits until it has ended.
    private var current: RequestContext?
    private var closed = false
    /// Graceful shutdown: close once the request in progress has ended.
    private var closesWhenIdle = false
    private var requestsServed = 0
    private var context: ChannelHandlerContext?
    private var peer: SocketAddress?
    /// The worker's tick when this connection last read or finished a request.
    private var lastActiveTick = 0
    /// Set while `processBuffered` runs: a request that ends inside it leaves the next one to
    /// the running loop instead of recursing (pipelined requests would exhaust the stack).
    private var processing = false
    /// Reading paused: a request is in progress and its successors filled the buffer.
    private var readingPaused = false
    /// Pipelined bytes buffered behind a request in progress before reading pauses.
    private static let pipelineLimit = 1 << 20

    init(worker: ServerWorker, router: ServerNameRouter<VirtualServer>, serverPort: Int) {
        self.worker = worker
        self.router = router
        self.serverPort = serverPort
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = context.channel.remoteAddress
        lastActiveTick = worker.tick
        if !worker.connectionOpened(self) {
            closed = true
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Before this connection's state changes: completions run here may end its previous
        // request.
        worker.lua.engine.willStartWork()
        var incoming = unwrapInboundIn(data)
        lastActiveTick = worker.tick
        buffer.appendReceived(&incoming)
        processBuffered()
        if current != nil && buffer.readableBytes > Self.pipelineLimit && !readingPaused {
            readingPaused = true
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    /// The worker's once-a-second sweep: closes a connection quiet since before
    /// `keepaliveTick` between requests, or since before `readTick` while its request is
    /// arriving. Never one with a request in progress or bytes still being written.
    func closeIfIdle(keepaliveTick: Int, readTick: Int) {
        guard current == nil, let context, context.channel.isWritable else { return }
        let betweenRequests = buffer.readableBytes == 0 && waitingHead == nil && requestsServed > 0
        if lastActiveTick < (betweenRequests ? keepaliveTick : readTick) { close() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        self.context = nil
        worker.connectionClosed(self)
        if let current, let luaContext = current.luaContext {
            worker.lua.clientAborted(luaContext)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close()
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its request.
    ///
    /// A connection that has not sent a request yet is left for a moment (the worker's
    /// sweep closes it after a second of silence): it may have been accepted just before a
    /// reload, its request on the way.
    func closeWhenIdle() {
        closesWhenIdle = true
        if current == nil && requestsServed > 0 && buffer.readableBytes == 0 && waitingHead == nil && chunkedBody == nil {
            close()
        }
    }

    /// Fast stop: closes whatever is in progress.
    func closeNow() { close() }

    private func close() {
        guard !closed else { return }
        closed = true
        context?.close(promise: nil)
        // NIO finishes a close on a later turn of the loop.
        worker.lua.engine.noteLoopWork()
    }

    /// Closes once the bytes already written are out: a plain close would fail the pending
    /// writes and cut the end of the last response.
    private func closeAfterWrites() {
        guard !closed, let context else { return }
        closed = true
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: written)
        written.futureResult.whenComplete { _ in context.close(promise: nil) }
        worker.lua.engine.noteLoopWork()
    }

    /// Writes part of a response. Returns `true` when `whenWritten` will run once the bytes
    /// are out, `false` when the connection is gone (the bytes are dropped).
    @discardableResult
    func send(_ bytes: inout ByteBuffer, whenWritten: (() -> Void)?) -> Bool {
        guard !closed, let context else { return false }
        guard let whenWritten else {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            return false
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in whenWritten() }
        context.writeAndFlush(wrapOutboundOut(bytes), promise: promise)
        return true
    }

    // MARK: Requests

    private func processBuffered() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        if readingPaused, let context {
            readingPaused = false
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        }
        while current == nil, !closed, context != nil {
            let head: HTTPRequestHead
            if let waiting = waitingHead.take() {
                head = waiting
            } else {
                do {
                    guard let parsed = try parser.parse(&buffer) else { return }
                    head = parsed
                } catch {
                    respondWithError(error.status)
                    return
                }
            }
            let server = router.dependsOnHost ? router.server(forHost: head.host) : router.defaultServer
            let match = server.locations.match(uri: head.path)
            let maximumBody = match?.payload.settings.clientMaxBodySize ?? (1 << 20)
            let body: ByteBuffer?
            switch readBody(of: head, maximum: maximumBody) {
            case .incomplete:
                waitingHead = head
                return
            case .failed(let status):
                respondWithError(status)
                return
            case .complete(let complete):
                body = complete
            }
            guard let match else {
                respondWithError(404, keepAlive: head.keepAlive, headOnly: head.method == .head)
                continue
            }
            dispatch(consume head, location: match.payload, body: body, serverName: server.names.first ?? "")
        }
    }

    private enum BodyProgress {
        case complete(ByteBuffer?)
        case incomplete
        case failed(status: Int)
    }

    /// Takes the request body out of the buffer once it has all arrived. A maximum of 0
    /// means no limit, as in nginx.
    private func readBody(of head: HTTPRequestHead, maximum: Int) -> BodyProgress {
        func tooLarge(_ size: Int) -> Bool { maximum > 0 && size > maximum }
        if let length = head.contentLength, length > 0 {
            if tooLarge(length) { return .failed(status: 413) }
            guard let body = buffer.readSlice(length: length) else { return .incomplete }
            return .complete(body)
        }
        guard head.isChunked else { return .complete(nil) }
        var state = chunkedBody ?? (ChunkedBodyDecoder(), ByteBuffer())
        defer { chunkedBody = state }
        do {
            while let part = try state.decoder.next(&buffer) {
                switch part {
                case .data(var bytes):
                    if tooLarge(state.collected.readableBytes + bytes.readableBytes) { return .failed(status: 413) }
                    state.collected.writeBuffer(&bytes)
                case .end:
                    let body = state.collected
                    state = (ChunkedBodyDecoder(), ByteBuffer())
                    chunkedBody = nil
                    return .complete(body.readableBytes > 0 ? body : nil)
                }
            }
        } catch {
            return .failed(status: error.status)
        }
        return .incomplete
    }

    private func dispatch(_ head: consuming HTTPRequestHead, location: Location, body: ByteBuffer?, serverName: String) {
        // The head is moved along (parser → request), not copied: a copy retains and later
        // releases each of its buffers and arrays.
        let request = RequestContext(
            head: head, body: body, location: location, peer: peer, serverPort: serverPort,
            connection: self, worker: worker
        )
        request.serverName = serverName
        current = request
        worker.handle(request)
    }

    /// The request's handlers have ended and its response is out.
    func requestEnded(_ request: RequestContext) {
        current = nil
        requestsServed += 1
        lastActiveTick = worker.tick
        if !request.responseComplete {
            // Cut short (an error after the headers, 444, a client gone): nothing to finish.
            close()
        } else if request.keepAlive && !closesWhenIdle {
            processBuffered()
        } else {
            closeAfterWrites()
        }
    }

    private func respondWithError(_ status: Int, keepAlive: Bool = false, headOnly: Bool = false) {
        var head = HTTPResponseHead()
        head.status = status
        let page = HTTPResponseHead.errorPage(status)
        var out = ByteBuffer()
        out.reserveCapacity(256 + page.utf8.count)
        let keepAlive = keepAlive && !closesWhenIdle && worker.configuration.keepaliveTimeoutSeconds > 0
        head.write(into: &out, framing: .length(page.utf8.count), keepAlive: keepAlive, defaultType: "text/html")
        if !headOnly { out.writeString(page) }
        send(&out, whenWritten: nil)
        if !keepAlive { closeAfterWrites() }
    }
}
