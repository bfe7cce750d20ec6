import CosocketCore
import CosocketLua
import NIOCore

/// One client connection: reads request heads and bodies (with `Content-Length` or chunked),
/// hands each request to the worker, carries its response out, and keeps the connection alive
/// between requests (pipelined requests wait in the buffer until the previous one has ended).
///
/// The bytes come and go through a ``ClientTransport``: a descriptor of the worker's own, or
/// a NIO channel on loops without a readiness set.
final class HTTPConnection: @unchecked Sendable {
    private let transport: any ClientTransport
    let worker: ServerWorker
    /// Picks the `server {}` for each request's `Host`.
    private let router: ServerNameRouter<VirtualServer>
    private let serverPort: Int
    /// Received bytes not parsed yet (taken from the transport as they arrive).
    private var buffer = ByteBuffer()
    private var parser: HTTPRequestParser
    /// A head whose body has not fully arrived yet.
    private var waitingHead: HTTPRequestHead?
    private var chunkedBody: (decoder: ChunkedBodyDecoder, collected: ByteBuffer)?
    /// The request in progress; the next one waits until it has ended.
    private var current: RequestContext?
    private var closed = false
    /// Graceful shutdown: close once the request in progress has ended.
    private var closesWhenIdle = false
    private var requestsServed = 0
    private var peer: SocketAddress?
    /// The worker's tick when this connection last read or finished a request.
    private var lastActiveTick = 0
    /// The worker's ``ServerWorker/activityStamp()`` at the same moments: orders idle
    /// connections exactly, oldest first, when some must make room for new ones.
    private(set) var lastActiveStamp: UInt64 = 0
    /// The tick when the head now arriving began (the accept, or its first byte after a
    /// response): nginx arms `client_header_timeout` once per head, so a client that sends
    /// it a byte at a time (slowloris) is cut when the whole head took too long.
    private var headStartTick: Int?
    /// `keepalive_timeout` and `send_timeout` of the last request's location (the http
    /// level's before the first).
    private var keepaliveTimeout: Int
    private var sendTimeout: Int
    /// What ``ClientTransport/unsentByteCount`` was at the sweep that last saw it change, and
    /// that sweep's tick.
    private var unsentAtLastProgress = 0
    private var lastSendProgressTick = 0
    /// The worker has been told the connection is gone.
    private var detached = false
    /// Set while `processBuffered` runs: a request that ends inside it leaves the next one to
    /// the running loop instead of recursing (pipelined requests would exhaust the stack).
    private var processing = false
    /// Reading paused: a request is in progress and its successors filled the buffer.
    private var readingPaused = false
    /// The current request's body, still arriving (its handlers started at the head).
    private var bodyInProgress: (length: Int?, chunked: Bool, maximum: Int)?
    /// A request socket has the client connection (see ``lendBody(prefix:)``).
    private var lent: Lending = .none
    /// Body bytes of a request that ended without reading them, dropped as they arrive.
    private var discardingBody = 0
    private enum Lending { case none, body, raw }
    /// Pipelined bytes buffered behind a request in progress before reading pauses.
    private static let pipelineLimit = 1 << 20
    /// `client_header_timeout` of the address's default server (nginx reads heads before it
    /// knows the server), in seconds.
    private let headerTimeout: Int
    /// `client_body_timeout` of the current request's location, in seconds.
    private var bodyTimeout = 60
    /// The connection's TLS, once its handshake completed (HTTPS).
    var tls: TLSConnectionDetails?
    #if os(Linux)
    var tlsHandshake: TLSServerHandshake? { transport.tlsHandshake }
    #endif

    /// The `listen` address the connection came in on (nginx's `addr_text` of the listener).
    let listenHost: String
    /// nginx's `*N` in the error log lines about this connection's requests.
    let number = ConnectionNumbers.next()

    /// nginx's text of the listening address: `0.0.0.0:1984`, `unix:/path`.
    var listenText: String { listenHost.hasPrefix("unix:") ? listenHost : "\(listenHost):\(serverPort)" }

    init(transport: any ClientTransport, worker: ServerWorker, router: ServerNameRouter<VirtualServer>, serverPort: Int, listenHost: String) {
        self.listenHost = listenHost
        self.transport = transport
        self.worker = worker
        self.router = router
        self.serverPort = serverPort
        parser = router.defaultServer.headLimits.makeParser()
        headerTimeout = router.defaultServer.headLimits.headerTimeout
        keepaliveTimeout = worker.configuration.keepaliveTimeoutSeconds
        sendTimeout = worker.configuration.sendTimeoutSeconds
    }

    // MARK: Transport events

    /// The connection is ready: it counts against `worker_connections` from now on.
    func opened() {
        peer = transport.remoteAddress
        lastActiveTick = worker.tick
        lastActiveStamp = worker.activityStamp()
        headStartTick = worker.tick
        if !worker.connectionOpened(self) {
            closed = true
            transport.close()
            return
        }
        transport.wantInput()
    }

    /// The transport received bytes.
    func bytesArrived() {
        transport.takeReceived(into: &buffer)
        lastActiveTick = worker.tick
        if current == nil && headStartTick == nil { headStartTick = worker.tick }
        if bodyInProgress != nil { continueBody() }
        processBuffered()
        if current != nil && bodyInProgress == nil && buffer.readableBytes > Self.pipelineLimit && !readingPaused {
            readingPaused = true
            transport.pauseReading()
        }
    }

    /// The transport is gone: closed by the client, an error or us.
    func transportClosed() {
        guard !detached else { return }
        detached = true
        closed = true
        worker.connectionClosed(self)
        bodyInProgress = nil
        current?.bodyFailed()
        if lent == .none, let current, let luaContext = current.luaContext {
            worker.lua.clientAborted(luaContext)
        }
    }

    /// The client ended its side while a request socket holds the connection and does not
    /// read: with `lua_check_client_abort on`, `ngx.on_abort`'s handler runs, or the request
    /// ends (499), as when no socket holds it.
    func clientEndedWhileLent() {
        if let current, let luaContext = current.luaContext { worker.lua.clientAborted(luaContext) }
    }

    /// The worker's once-a-second sweep at `tick`: closes a connection quiet for its
    /// `keepalive_timeout` between requests, or since before `readTick` while its request is
    /// arriving, or whose client took nothing of the response for `send_timeout`. Never one
    /// with a request in progress otherwise. `hurried` (a quit) makes every limit a second.
    func closeIfIdle(tick: Int, hurried draining: Bool) {
        // `client_header_timeout` while a head arrives, `client_body_timeout` while a body
        // does; one second for everything once quitting.
        let readTick = tick - (draining ? 1 : headerTimeout)
        let bodyTick = tick - (draining ? 1 : bodyTimeout)
        // Also after `closeAfterWrites` (`closed` is set then), which waits for the same bytes.
        if !detached {
            let unsent = transport.unsentByteCount
            if unsent == 0 || unsent != unsentAtLastProgress {
                unsentAtLastProgress = unsent
                lastSendProgressTick = tick
            } else if tick - lastSendProgressTick >= sendTimeout {
                // nginx: "client timed out ... while sending response to client", and a close.
                closed = true
                transport.close()
                return
            }
        }
        let keepaliveTick = tick - (draining ? min(keepaliveTimeout, 1) : keepaliveTimeout)
        // A body that stops arriving while the handlers wait for it gets the same timeout.
        if current != nil, bodyInProgress != nil, lent == .none, !closed, lastActiveTick < bodyTick { return close() }
        guard current == nil, !closed, transport.isFlushed else { return }
        let betweenRequests = buffer.readableBytes == 0 && waitingHead == nil && requestsServed > 0
        if betweenRequests ? lastActiveTick < keepaliveTick : min(lastActiveTick, headStartTick ?? lastActiveTick) < readTick { close() }
    }

    /// Graceful shutdown (reload or quit): the connection carries one more request at most,
    /// answered with `Connection: close`, and then closes.
    ///
    /// An idle kept-alive connection is not closed here: its client may be sending the next
    /// request at this moment, and would see the close as a failed request (nginx closes
    /// them, and loses such requests on every reload). The worker's sweep closes it after
    /// `keepalive_timeout` of silence instead (a second, when quitting). A request in progress
    /// whose head has not gone out yet is answered with `Connection: close`; one whose head
    /// promised keep-alive is followed by one more.
    func closeWhenIdle() {
        closesWhenIdle = true
        if let current, !current.headersSent { current.isLastOnConnection = true }
    }

    /// Fast stop: closes whatever is in progress.
    func closeNow() { close() }

    /// Waiting for a request with nothing of it received (before the first one or between
    /// two): nginx's "reusable" connection, which it closes to make room for a new client
    /// when `worker_connections` are taken.
    var isReusable: Bool {
        current == nil && !closed && lent == .none && waitingHead == nil && buffer.readableBytes == 0
            && transport.isFlushed
    }

    private func close() {
        guard !closed else { return }
        closed = true
        transport.close()
    }

    /// Closes once the bytes already written are out: a plain close would fail the pending
    /// writes and cut the end of the last response.
    private func closeAfterWrites() {
        guard !closed else { return }
        closed = true
        transport.closeAfterWrites()
    }

    /// Writes part of a response. Returns `true` when `whenWritten` will run once the bytes
    /// are out, `false` when the connection is gone (the bytes are dropped).
    @discardableResult
    func send(_ bytes: inout ByteBuffer, whenWritten: (() -> Void)?) -> Bool {
        guard !closed else { return false }
        return transport.write(bytes, whenWritten: whenWritten)
    }

    // MARK: Requests

    private func processBuffered() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        if readingPaused {
            readingPaused = false
            transport.wantInput()
        }
        if discardingBody > 0 {
            let count = min(discardingBody, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: count)
            discardingBody -= count
            if discardingBody > 0 {
                transport.wantInput()
                return
            }
        }
        while current == nil, !closed {
            let head: HTTPRequestHead
            if let waiting = waitingHead.take() {
                head = waiting
            } else {
                do {
                    guard let parsed = try parser.parse(&buffer) else {
                        transport.wantInput()
                        return
                    }
                    head = parsed
                } catch {
                    respondWithError(error.status)
                    return
                }
            }
            let (server, serverCaptures) = router.dependsOnHost ? router.route(forHost: head.host) : (router.defaultServer, .none)
            let match = server.locations.match(uri: head.path)
            // No location matches: a server-level `rewrite` may still send the request to one.
            // An `internal` location is not the client's to ask for: a 404, as nginx answers.
            let target = match?.payload ?? server.serverOnly
            // Answered with a 404 in the location (whose `error_page` may take it).
            let refusedAsInternal = match?.payload.settings.isInternal == true
            let maximumBody = target?.settings.clientMaxBodySize ?? (1 << 20)
            let body: ByteBuffer?
            var bodyPending = false
            switch readBody(length: head.contentLength, chunked: head.isChunked, maximum: maximumBody) {
            case .incomplete where target != nil:
                // The handlers start now: `ngx.req.read_body()` waits for the body, and
                // `ngx.req.socket()` reads it as it arrives.
                bodyInProgress = (head.contentLength, head.isChunked, maximumBody)
                bodyPending = true
                body = nil
                transport.wantInput()
            case .incomplete:
                waitingHead = head
                transport.wantInput()
                return
            case .failed(let status):
                respondWithError(status)
                return
            case .complete(let complete):
                body = complete
            }
            if let tls, let status = tls.clientCertificateRefusal {
                // nginx's 495 and 496: logged, answered as a 400 with its own page, closed.
                worker.lua.errorLog.log(.info, status == 496
                    ? "client sent no required SSL certificate while reading client request headers"
                    : "client SSL certificate verify error: (\(tls.clientVerifyCode):\(tls.clientVerify.dropFirst(7))) while reading client request headers")
                respondWithError(status)
                return
            }
            guard let target else {
                respondWithError(404, keepAlive: head.keepAlive, headOnly: head.method == .head)
                continue
            }
            dispatch(
                consume head, location: target, body: body, bodyPending: bodyPending,
                server: server, captures: match.map { serverCaptures.followed(by: $0.captures) } ?? serverCaptures,
                refusedAsInternal: refusedAsInternal
            )
        }
    }

    private enum BodyProgress {
        case complete(ByteBuffer?)
        case incomplete
        case failed(status: Int)
    }

    /// Takes the request body out of the buffer once it has all arrived. A maximum of 0
    /// means no limit, as in nginx.
    private func readBody(length: Int?, chunked: Bool, maximum: Int) -> BodyProgress {
        func tooLarge(_ size: Int) -> Bool { maximum > 0 && size > maximum }
        if let length, length > 0 {
            if tooLarge(length) { return .failed(status: 413) }
            guard let body = buffer.readSlice(length: length) else { return .incomplete }
            return .complete(body)
        }
        guard chunked else { return .complete(nil) }
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

    /// More of the running request's body arrived.
    private func continueBody() {
        guard let progress = bodyInProgress, let request = current else { return }
        switch readBody(length: progress.length, chunked: progress.chunked, maximum: progress.maximum) {
        case .incomplete:
            transport.wantInput()
        case .failed(let status):
            // Too large or malformed, with the handlers running: nginx answers with the status
            // when nothing went out yet, and the connection ends either way.
            bodyInProgress = nil
            if request.headersSent {
                close()
            } else {
                respondWithError(status)
            }
        case .complete(let body):
            bodyInProgress = nil
            request.bodyArrived(body)
        }
    }

    /// `ngx.req.socket()`: the client connection goes to a request socket, which reads
    /// `prefix` (what arrived of the body, de-chunked) and the buffered bytes first. `nil`
    /// when this transport cannot be lent.
    func lendBody(prefix: ByteBuffer?) -> AcceptedStream? {
        lend(prefix: prefix, as: .body)
    }

    /// `ngx.req.socket(true)`: the client connection is the request socket's for good.
    func lendRaw(prefix: ByteBuffer?) -> AcceptedStream? {
        lend(prefix: prefix, as: .raw)
    }

    private func lend(prefix: ByteBuffer?, as kind: Lending) -> AcceptedStream? {
        #if os(Linux)
        guard lent == .none, !closed, let stream = transport as? AcceptedStream else { return nil }
        bodyInProgress = nil
        chunkedBody = nil
        var bytes = prefix ?? ByteBuffer()
        bytes.writeBuffer(&buffer)
        buffer.clear()
        stream.giveBack(&bytes)
        lent = kind
        return stream
        #else
        return nil
        #endif
    }

    private func dispatch(
        _ head: consuming HTTPRequestHead, location: Location, body: ByteBuffer?, bodyPending: Bool, server: VirtualServer,
        captures: LocationCaptures, refusedAsInternal: Bool
    ) {
        // The head is moved along (parser → request), not copied: a copy retains and later
        // releases each of its buffers and arrays.
        let request = RequestContext(
            head: head, body: body, location: location, peer: peer, serverPort: serverPort,
            connection: self, worker: worker
        )
        request.tls = tls
        request.bodyPending = bodyPending
        // `keepalive_requests`: counting this one. A retiring worker's connection carries no
        // request after this one, and says so in its response.
        request.isLastOnConnection = requestsServed + 1 >= location.settings.keepaliveRequests || closesWhenIdle
        sendTimeout = location.settings.sendTimeout
        bodyTimeout = location.settings.clientBodyTimeout
        request.serverName = server.names.first ?? ""
        request.server = server
        request.captures = captures
        request.noLocation = refusedAsInternal
        current = request
        headStartTick = nil
        worker.handle(request)
    }

    /// The request's handlers have ended and its response is out.
    func requestEnded(_ request: RequestContext) {
        current = nil
        requestsServed += 1
        keepaliveTimeout = request.location.settings.keepaliveTimeout
        lastActiveTick = worker.tick
        lastActiveStamp = worker.activityStamp()
        if lent != .none {
            #if os(Linux)
            // A body socket that read the whole body gave the connection back; anything else
            // leaves it where it cannot carry another request.
            if lent == .body, let stream = transport as? AcceptedStream, !stream.isLent, !closed {
                lent = .none
                transport.takeReceived(into: &buffer)
                discardingBody = stream.unreadBodyBytes
            } else {
                close()
                return
            }
            #endif
        }
        if let progress = bodyInProgress {
            // The handlers left the body unread: nginx discards it (a chunked one here ends
            // the connection instead).
            bodyInProgress = nil
            chunkedBody = nil
            if let length = progress.length { discardingBody = length } else { close() }
        }
        if closed {
            return
        } else if !request.responseComplete {
            // Cut short (an error after the headers, 444, a client gone): nothing to finish.
            close()
        } else if request.keepAlive {
            // Also while retiring: the response promised the client another request.
            processBuffered()
        } else {
            closeAfterWrites()
        }
    }

    private func respondWithError(_ status: Int, keepAlive: Bool = false, headOnly: Bool = false) {
        var head = HTTPResponseHead()
        // nginx's 495 and 496 go out as 400s with their own pages.
        head.status = status == 495 || status == 496 ? 400 : status
        let page = HTTPResponseHead.errorPage(status, serverTokens: worker.configuration.serverTokens)
        var out = ByteBuffer()
        out.reserveCapacity(256 + page.utf8.count)
        let keepAlive = keepAlive && !closesWhenIdle && keepaliveTimeout > 0
        head.write(
            into: &out, framing: .length(page.utf8.count), keepAlive: keepAlive, defaultType: "text/html", date: worker.date.current(),
            serverTokens: worker.configuration.serverTokens)
        if !headOnly { out.writeString(page) }
        send(&out, whenWritten: nil)
        if !keepAlive { closeAfterWrites() }
    }
}
