#if canImport(Glibc)
import Glibc
#endif
import CosocketCore
import CosocketLua
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP request on its way through the phases: the Lua request host (`ngx.var`,
/// `ngx.req`, `ngx.header`, `ngx.status`), the sink of `ngx.say`, and the response it builds.
///
/// A response that is complete when the handlers end goes out in one write with a
/// `Content-Length`. `ngx.flush` and `ngx.send_headers` switch to streaming: chunked for
/// HTTP/1.1 clients, until-close for HTTP/1.0 ones.
final class RequestContext: LuaRequestHost, LuaOutput, LuaContextDelegate {
    let head: HTTPRequestHead
    var body: ByteBuffer?
    /// The request's location; an `if` block of it that matched puts its own settings here.
    private(set) var location: Location
    let peer: SocketAddress?
    let serverPort: Int
    private let ownConnectionNumber: Int
    let worker: ServerWorker
    /// The next entry of `location.phases` to run.
    var nextPhase = 0
    /// Strong until the request ends, so that a closed connection still swallows output.
    var connection: HTTPConnection?
    /// Set for a subrequest (Subrequest.swift): its response goes to its parent.
    var subrequest: SubrequestLink?
    /// How much deeper its subrequests may nest (nginx's `r->subrequests`).
    var subrequestsLeft = RequestContext.subrequestDepthLimit
    /// A subrequest whose URI matched no location.
    var noLocation = false
    /// A subrequest's handler failed (`res.truncated`).
    var subrequestFailed = false
    /// `ngx.exec`'s target, until the jump takes the request there (RequestContext+Exec.swift).
    var pendingRedirect: InternalRedirect?
    /// The Lua side of the request, for client-abort handling; released when the request ends.
    var luaContext: LuaContext?
    var response = HTTPResponseHead()
    /// Body bytes written by the handlers and not sent yet. Its first write leaves room in
    /// front for the head, so that a complete response goes out from this one buffer.
    var responseBody = ByteBuffer()
    var userVariables: [String: String] = [:]
    /// The regex captures of `server_name ~` and `location ~` (`$1`.., named variables).
    var captures = LocationCaptures.none
    var args: String?
    private(set) var headersSent = false
    private(set) var outputEnded = false
    /// The whole response went out (a connection can carry on only then).
    private(set) var responseComplete = false
    /// `ngx.exit(status)` with a status of 300 or more asks for nginx's error page.
    var exitStatus: Int?
    /// The `map` variables read so far (nginx caches them per request), and those being
    /// worked out (a map whose source reads itself is a cycle).
    var maps: MapState?
    /// `try_files` ran in the request's location.
    var triedFiles = false
    /// An `error_page` took the request (nginx's `r->error_page`): no other will.
    var errorPageTaken = false
    /// The status an `error_page` fixed (nginx's `r->err_status`): what `ngx.status` reads and
    /// what the head says, whatever the page's location sets.
    var errorStatus: Int?
    /// Where `set_by_lua*` and the output filters run (made on first use).
    var runContext: LuaContext?
    var headerFilterDone = false
    /// The body filter set `ngx.arg[2]`: the rest of the body is dropped.
    var bodyFilterEnded = false
    /// The error page went through the body filter already.
    var errorPageFiltered = false
    /// The request's headers once Lua code changed them (`ngx.req.set_header`); until then
    /// they are read from the head's bytes.
    var editedHeaders: [(name: String, value: String)]?
    /// `ngx.req.set_method`.
    var methodOverride: String?
    /// `ngx.req.set_uri`.
    var pathOverride: String?
    /// `ngx.req.set_uri(uri, true)` in the rewrite phase: the location is found again when
    /// the phase ends.
    var uriJumpPending = false
    /// Jumps so far; nginx stops at 10 (`rewrite or internal redirection cycle`).
    var uriJumps = 0
    let startTime: Double
    /// The virtual server that took the request, where a URI jump looks for its location.
    var server: VirtualServer?
    /// The connection's TLS (HTTPS), for `$https`, `$scheme` and the `$ssl_*` variables.
    var tls: TLSConnectionDetails?

    init(
        head: consuming HTTPRequestHead,
        body: ByteBuffer?,
        location: Location,
        peer: SocketAddress?,
        serverPort: Int,
        connection: HTTPConnection?,
        worker: ServerWorker
    ) {
        self.head = head
        self.body = body
        self.location = location
        self.peer = peer
        self.serverPort = serverPort
        self.connection = connection
        ownConnectionNumber = connection?.number ?? 0
        self.worker = worker
        self.args = head.query
        var now = timespec()
        // The coarse clock (a few nanoseconds) is as fine as nginx's cached time.
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        // Milliseconds, as nginx keeps `r->start_msec`.
        self.startTime = Double(now.tv_sec) + Double(now.tv_nsec / 1_000_000) / 1000
        for (name, value) in location.settings.declaredVariables { userVariables[name] = value }
    }

    /// `$remote_addr`, formatted only when asked for.
    /// nginx's `$remote_addr`: the client's IP, or `unix:` for a unix-domain client.
    var remoteAddress: String {
        if case .unixDomainSocket? = peer { return "unix:" }
        return peer?.ipAddress ?? ""
    }

    /// Whether the connection can carry another request after this one.
    var keepAlive: Bool {
        head.keepAlive && !streamedUntilClose && !isLastOnConnection && location.settings.keepaliveTimeout > 0
    }

    /// The connection has carried `keepalive_requests` requests with this one.
    var isLastOnConnection = false

    /// A streamed response to an HTTP/1.0 client: its body ends when the connection closes.
    private var streamedUntilClose = false

    /// 204 and 304 responses carry neither a body nor body framing; HEAD gets the framing only.
    private var hasNoBody: Bool { response.status == 204 || response.status == 304 || response.status < 200 }

    // MARK: LuaRequestHost

    var method: String { methodOverride ?? head.methodName }
    var requestURI: String { head.uri }
    var path: String { pathOverride ?? head.path }

    /// The extension of the path's last segment (nginx's `r->exten`), or `nil`: found without
    /// building the path string, so a path without one costs no allocation.
    func pathExtension() -> String? {
        func find(_ bytes: UnsafeRawBufferPointer) -> String? {
            var index = bytes.count
            while index > 0 {
                index -= 1
                switch bytes[index] {
                case UInt8(ascii: "."):
                    return index + 1 < bytes.count ? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(index + 1)...]), as: UTF8.self) : nil
                case UInt8(ascii: "/"): return nil
                default: continue
                }
            }
            return nil
        }
        if let normalized = pathOverride ?? head.normalizedPath {
            var copy = normalized
            return copy.withUTF8 { find(UnsafeRawBufferPointer($0)) }
        }
        let range = head.pathRange
        return head.bytes.withUnsafeReadableBytes { find(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
    var query: String { args ?? "" }
    var httpVersion: Double { head.version == .http1_1 ? 1.1 : 1.0 }
    var requestHeaders: [(name: String, value: String)] { editedHeaders ?? head.headers }
    /// The body as read, or the one `ngx.req.init_body` is building (until it is in a file).
    var requestBody: [UInt8]? {
        if let bodyBuilder { return bodyBuilder.file == nil ? Array(bodyBuilder.memory.readableBytesView) : nil }
        return body.map { Array($0.readableBytesView) }
    }
    func discardBody() {
        body = nil
        bodyFile = nil
        bodyDiscarded = true
    }
    /// The body in a file: larger than `client_body_buffer_size`, or `ngx.req.set_body_file`'s.
    var bodyFile: RequestBodyFile?
    /// A body `ngx.req.init_body` began.
    var bodyBuilder: RequestBodyBuilder?
    /// `ngx.req.finish_body` ended one.
    var bodyFinished = false
    var bodyInFileOnly = false
    /// `ngx.req.set_header("Content-Length", ...)`'s value, which `$content_length` reads.
    var contentLengthVariable: String?

    // MARK: Request body and request sockets (their functions: RequestContext+Body.swift)

    /// The body is still arriving: the handlers started at the head.
    var bodyPending = false
    var bodyWaiters: [() -> Void] = []
    /// `ngx.req.read_body()` was called.
    var bodyRequested = false
    var bodyDiscarded = false
    /// A request socket took the body or the connection.
    var socketTaken = false
    var rawTaken = false

    /// `Expect: 100-continue`: the client waits for a go-ahead before the body, which nginx
    /// sends once something reads it.
    var continueSent = false

    /// `ngx.req.socket(true)`: the connection is the handler's from here on, output included.
    func rawRequestStream() -> Result<AcceptedStream, RequestSocketRefusal> {
        if rawTaken { return .failure(.duplicateCall) }
        if bodyRequested && bodyPending { return .failure(.pendingBodyRead) }
        // nginx would have sent `ngx.say` output (and the head) already: it goes out first.
        if responseBody.readableBytes > 0 { _ = flush(whenWritten: nil) }
        // An unread body is the raw socket's to read.
        let unread = bodyRequested || socketTaken || head.isChunked ? nil : body
        guard let stream = connection?.lendRaw(prefix: unread) else { return .failure(.unsupported) }
        body = nil
        bodyPending = false
        socketTaken = true
        rawTaken = true
        // Nothing more goes out from here: the handler writes what it wants through the socket.
        headersSent = true
        outputEnded = true
        return .success(stream)
    }

    var rawHeader: String { String(buffer: head.bytes) }
    var status: Int {
        get { errorStatus ?? response.status }
        set {
            response.status = newValue
            statusIsSet = true
        }
    }

    /// `ngx.status` was assigned (nginx's `headers_out.status` is 0 until then, or until
    /// the head goes out).
    private(set) var statusIsSet = false

    var luaStatus: Int {
        errorStatus ?? (statusIsSet || headersSent || luaWroteOutput || exitStatus != nil ? response.status : 0)
    }

    func variable(_ name: String) -> String? {
        if let value = userVariables[name] { return value }
        switch name {
        case "uri", "document_uri": return path
        case "args", "query_string": return args
        case "is_args": return args?.isEmpty == false ? "?" : ""
        case "request_uri": return head.uri
        case "request_method": return method
        case "host": return hostName
        case "remote_addr": return remoteAddress
        case "server_port": return String(serverPort)
        case "scheme": return tls == nil ? "http" : "https"
        case "https": return tls == nil ? "" : "on"
        case _ where name.hasPrefix("ssl_"): return tls?.variable(name)
        case "server_protocol": return head.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0"
        // nginx's `$content_length` reads the header Lua set with `ngx.req.set_header`, not the
        // one the body writers update.
        case "content_length": return contentLengthVariable ?? head.contentLength.map(String.init)
        case "content_type": return requestHeader(named: "Content-Type")
        case "request_body": return bodyFile == nil ? requestBody.map { String(decoding: $0, as: UTF8.self) } : nil
        case "request_length": return String(head.bytes.readableBytes + (body?.readableBytes ?? 0))
        case "status": return String(response.status)
        default: break
        }
        if worker.hasMaps, let map = worker.configuration.maps[name] { return mapValue(map) }
        if let value = captures[name] { return value }
        if name.hasPrefix("http_") {
            // nginx matches `-` and `_` alike (a header named `X_A_B` is `$http_x_a_b` where
            // `underscores_in_headers on` lets it in).
            let field = name.dropFirst(5)
            return requestHeader(named: String(field).replacing("_", with: "-"))
                ?? (field.contains("_") ? requestHeader(named: String(field)) : nil)
        }
        if name.hasPrefix("cookie_") { return cookie(named: name.dropFirst(7)) }
        if name.hasPrefix("sent_http_") { return sentHeader(String(name.dropFirst(10)).replacing("_", with: "-")) }
        if name.hasPrefix("arg_"), let args {
            let wanted = Array(name.dropFirst(4).utf8)
            for pair in NgxCodec.decodeArgs(Array(args.utf8)) where pair.key == wanted {
                return pair.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
        }
        return nil
    }

    /// nginx 1.22's `$sent_http_NAME`: the response header's first value; all of
    /// `Cache-Control`'s and `Link`'s, joined by `; `.
    private func sentHeader(_ field: String) -> String? {
        guard let values = responseHeader(field), let first = values.first else { return nil }
        let lower = field.lowercased()
        return lower == "cache-control" || lower == "link" ? values.joined(separator: "; ") : first
    }

    /// `set $name` variables and `$args` (which `ngx.var.arg_*` and `ngx.req.get_uri_args` then
    /// read) are writable, as in nginx.
    func setVariable(_ name: String, _ value: String?) -> Bool {
        if name == "args" || name == "query_string" {
            args = value
            return true
        }
        guard userVariables[name] != nil else { return false }
        userVariables[name] = value ?? ""
        return true
    }

    /// `ngx.var[n]`: the n-th capture of the last regex that matched (nil for 0, an unset
    /// group or one beyond the pattern's).
    func capture(_ index: Int) -> String? { index >= 1 ? captures[index] : nil }

    func responseHeader(_ name: String) -> [String]? {
        if let values = response.values(name) { return values }
        // The reference sets the location's default type as Lua output sends the head.
        if (headersSent || luaWroteOutput), HTTPResponseHead.sameName(name, "content-type"), !response.omitsContentType {
            return [location.contentType(forExtension: pathExtension())]
        }
        return nil
    }

    #if os(Linux)
    var tlsHandshake: TLSServerHandshake? { connection?.tlsHandshake }
    #endif

    /// The `server_name` of the server that took the request (nginx's `server:` in logs).
    var serverName = ""

    /// What a timer made by this request appends to its log lines after `context: ngx.timer`
    /// (its fake connection copies the client's address and the listener's).
    var timerLogOrigin: String {
        guard let connection = mainRequest.connection else { return "client: \(remoteAddress)" }
        return "client: \(remoteAddress), server: \(connection.listenText)"
    }

    /// The connection's `*N` (a subrequest's is its main request's), kept past the
    /// connection's release for the log phase.
    var connectionNumber: Int { mainRequest.ownConnectionNumber }

    /// The request a subrequest (of a subrequest...) was made for; itself for a main request.
    private var mainRequest: RequestContext {
        var main = self
        while let parent = main.subrequest?.parent { main = parent }
        return main
    }

    /// An error-log line about this request, as nginx writes one: `*N text, client: ...`.
    func logError(_ text: String) {
        worker.lua.errorLog.log(.error, "*\(connectionNumber) \(text), \(errorLogContext)")
    }

    var errorLogContext: String {
        // The request line as received: the head up to its first line break.
        let requestLine = head.bytes.withUnsafeReadableBytes { raw in
            String(decoding: raw.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        }
        var text = "client: \(remoteAddress), server: \(serverName), request: \"\(requestLine)\""
        if subrequest != nil { text += ", subrequest: \"\(path)\"" }
        if let host = head.host { text += ", host: \"\(host)\"" }
        return text
    }

    func setResponseHeader(_ name: String, _ values: [String]?) {
        // A Content-Length Lua cleared: the response goes out without one (chunked), as nginx's.
        if values == nil, name.utf8.count == 14, HTTPResponseHead.sameName(name, "content-length") { lengthCleared = true }
        response.set(name, values)
    }

    var transformsUnderscores: Bool { location.settings.transformUnderscores }

    // MARK: Output filters (the pipeline: RequestContext+Filters.swift)


    /// A plain array: a `CircularBuffer` allocated its storage in every request's
    /// initialiser, filters or not; this one allocates only when a filter queues a step.
    var filterSteps: [FilterStep] = []
    /// A filter is running (and may be waiting).
    var filtering = false
    /// Where the filters run when they may wait: one context for the request's filter runs,
    /// each run a phase of it (see ``luaContextPhaseEnded(_:)``).
    var filterContext: LuaContext?
    var filterCompletion: ((LuaWorker.RunOutcome, LuaContext) -> Void)?
    var pumping = false
    var endRequested = false
    /// The eof chunk is queued (by `ngx.eof` or the end of the request).
    var eofQueued = false
    var hasFilters: Bool { location.settings.headerFilter != nil || location.settings.bodyFilter != nil }

    // MARK: The rewrite module's script

    /// The server's then the location's `set`, `set_by_lua*`, `if`, `return` and `break`.
    func runScripts() -> RewriteOutcome {
        let location = location
        let outcome = RewriteScript.run(location.settings.serverScript, on: self)
        // A server-level rewrite runs before nginx finds the location (the location's script
        // then runs after the jump finds it).
        guard case .proceed = outcome else { return outcome }
        return RewriteScript.run(location.settings.script, on: self)
    }

    /// A `set` (its value's variables expanded) or a `set_by_lua*` handler; `false` when the
    /// handler failed.
    func assign(_ assignment: VariableAssignment) -> Bool {
        guard let source = assignment.lua else {
            userVariables[assignment.name] = VariableTemplate.expand(assignment.value, scriptVariable)
            return true
        }
        worker.runContext(of: self, phase: "set").filterArguments = assignment.arguments.map { VariableTemplate.expand($0, scriptVariable) }
        switch worker.runToEnd(source, phase: "set", for: self, wantsResult: true) {
        case .returned(let value): userVariables[assignment.name] = value ?? ""
        case .exited: userVariables[assignment.name] = ""
        case .failed: return false
        }
        return true
    }

    func enter(_ location: Location) {
        self.location = location
    }

    /// A URI jump took the request to `location`: its constant `set`s apply too.
    func moveTo(_ location: Location) {
        self.location = location
        triedFiles = false
        for (name, value) in location.settings.declaredVariables { userVariables[name] = value }
    }

    /// `return code text`: the text goes through the body filter like handler output.
    func writeText(_ text: String) {
        var text = text
        let wroteFromLua = luaWroteOutput
        _ = text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
        luaWroteOutput = wroteFromLua
    }

    /// `ngx.say`/`ngx.print` wrote part of the body: a HEAD response then carries no
    /// `Content-Length`, as nginx's, whose Lua output sends the head at once with no body.
    /// (`return` text and error pages keep theirs, as there.)
    var luaWroteOutput = false
    /// The handler's own `Content-Length` (see `applyHandlerFraming`).
    private var declaredLength: Int?
    /// Lua cleared `Content-Length`: the response is streamed (see `setResponseHeader`).
    private var lengthCleared = false
    var isHeadRequest: Bool { head.method == .head }

    // MARK: LuaOutput

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !outputEnded, !eofQueued else { return false }
        luaWroteOutput = true
        if location.settings.bodyFilter != nil {
            var chunk = ByteBuffer()
            chunk.writeBytes(bytes)
            filterSteps.append(.chunk(chunk))
            pumpFilters()
            return true
        }
        append(bytes)
        return true
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        if responseBody.capacity == 0 {
            responseBody = worker.takeResponseBuffer(minimumCapacity: Self.headRoom + max(bytes.count, 512))
            responseBody.moveWriterIndex(to: Self.headRoom)
            responseBody.moveReaderIndex(to: Self.headRoom)
        }
        responseBody.writeBytes(bytes)
    }

    func flush(whenWritten: (() -> Void)?) -> LuaFlushResult {
        guard !outputEnded else { return .ended }
        if hasFilters {
            // nginx passes a flush through the body filter as an empty chunk.
            if location.settings.bodyFilter != nil { filterSteps.append(.chunk(ByteBuffer())) }
            filterSteps.append(.flush(whenWritten: whenWritten))
            pumpFilters()
            return whenWritten == nil ? .done : .pending
        }
        var out = streamedPart(last: false)
        guard out.readableBytes > 0, let connection else { return .done }
        return connection.send(&out, whenWritten: whenWritten) ? .pending : .done
    }

    func sendHeaders() {
        guard !headersSent, !outputEnded else { return }
        if hasFilters {
            filterSteps.append(.headers)
            pumpFilters()
            return
        }
        var out = ByteBuffer()
        writeStreamedHead(into: &out)
        connection?.send(&out, whenWritten: nil)
    }

    func endOutput() -> Bool {
        guard !outputEnded, !eofQueued else { return false }
        if hasFilters {
            eofQueued = true
            filterSteps.append(.endOfBody)
            filterSteps.append(.endOutput)
            pumpFilters()
            return true
        }
        finishResponse()
        return true
    }

    // MARK: LuaContextDelegate

    func luaContextPhaseEnded(_ context: LuaContext) -> Bool {
        if context === filterContext {
            filterRunEnded(.returned(nil), context)
            return true
        }
        return worker.startNextPhase(of: self, in: context)
    }

    func luaContextFinished(_ context: LuaContext) {
        if context === filterContext {
            // A filter's error or ngx.exit ends its context; the next run gets a new one.
            filterContext = nil
            let outcome: LuaWorker.RunOutcome = context.failure.map { .failed($0) } ?? context.exitStatus.map { .exited($0) } ?? .returned(nil)
            return filterRunEnded(outcome, context)
        }
        if context.failure != nil {
            subrequestFailed = true
            // After Lua output nginx's head is out (its bytes wait for more): the connection
            // closes, as the reference's does, with nothing sent.
            if headersSent || luaWroteOutput {
                abandonResponse()
            } else {
                response.status = 500
                exitStatus = 500
            }
        }
        if let status = context.exitStatus, Self.terminates(status) { abandonResponse() }
        end()
    }

    /// `ngx.exit` codes that end the connection with nothing more sent: 444, 408 and 499
    /// (nginx's close, timeout and client-gone), and `ngx.ERROR`, `ngx.DECLINED` and the other
    /// negative codes (a failed request).
    static func terminates(_ status: Int) -> Bool {
        status == 444 || status == 408 || status == 499 || status < 0
    }

    // MARK: ngx.exit

    func handleExit(status: Int, context: LuaContext) -> Bool {
        // The header filter runs before the head goes out: its exit replaces the response
        // (see `pumpFilters`).
        if case .request("header_filter") = context.kind, !headersSent {
            if status >= 200 { response.status = status }
            return false
        }
        // Lua output sent the head in nginx (its status is then fixed); here it waits in memory.
        if headersSent || luaWroteOutput {
            // These end the connection anyway (see `luaContextFinished`), without a word.
            if status >= 300 && status != response.status && !Self.terminates(status) {
                logError("attempt to set status \(status) via ngx.exit after sending out the response status \(response.status)")
            }
            return false
        }
        if status >= 200 {
            response.status = status
            if status >= 300 && responseBody.readableBytes == 0 { exitStatus = status }
        }
        return false
    }

    // MARK: Sending

    /// Sends the rest of the response: all of it in one write, or the last streamed chunk.
    func finishResponse() {
        guard !outputEnded else { return }
        outputEnded = true
        responseComplete = true
        // A subrequest's response stays in memory until it ends (``deliverSubrequestResult()``).
        if subrequest != nil { return }
        guard let connection else { return }
        var out: ByteBuffer
        // A filtered body goes out streamed, its length unknown in advance, as nginx sends it.
        if headersSent || (location.settings.bodyFilter != nil && !errorPageFiltered) || (lengthCleared && exitStatus == nil) {
            out = streamedPart(last: true)
        } else {
            out = completeResponse()
        }
        connection.send(&out, whenWritten: nil)
        // The body's storage is `out`'s (the head went in front of it): drop this reference so
        // that the worker's copy becomes unique once NIO has written it.
        responseBody = ByteBuffer()
        worker.recycleResponseBuffer(out)
    }

    /// The request is over (handlers and their threads ended): the response is completed
    /// (through the filters first), `log_by_lua*` starts, and the connection moves on to its
    /// next request.
    func end() {
        // `return 444` (and 408, 499) closes the connection with nothing sent, as Lua's exit does.
        if let exitStatus, Self.terminates(exitStatus), !outputEnded, subrequest == nil { abandonResponse() }
        if exitStatus != nil {
            if !location.settings.errorPages.isEmpty, takeErrorPage() { return }
            // An error in the page's location: its status is the response's now.
            if errorStatus != nil { errorStatus = exitStatus }
        }
        if let filterContext, let main = luaContext, filterContext.ctxOwner === main {
            // The phases' context lets go of `ngx.ctx` once this returns: the filters keep it.
            filterContext.ctxOwner = nil
            filterContext.adoptCtx(of: main)
        }
        guard hasFilters, !outputEnded else { return completeEnd() }
        guard !endRequested else { return }
        endRequested = true
        if !eofQueued {
            eofQueued = true
            filterSteps.append(.endOfBody)
        }
        filterSteps.append(.finish)
        pumpFilters()
    }

    func completeEnd() {
        finishResponse()
        let connection = self.connection
        let requestContext = luaContext
        self.connection = nil
        luaContext = nil
        // nginx logs the main request only.
        if subrequest == nil { worker.runLogPhase(self, after: requestContext, filterContext) }
        if let filterContext {
            self.filterContext = nil
            filterContext.delegate = nil
            filterContext.request = nil
            worker.lua.endRunContext(filterContext)
        }
        if let runContext {
            worker.lua.endRunContext(runContext)
            runContext.request = nil
            self.runContext = nil
        }
        connection?.requestEnded(self)
        deliverSubrequestResult()
    }

    /// A filter failed: nothing more of the response goes out, and the connection closes.
    func cutResponse() {
        outputEnded = true
        responseBody.clear()
    }

    /// A Lua error after the headers went out, or `ngx.exit(444)`: the response cannot be
    /// completed, so the connection closes as it is (the client sees the response cut short).
    func abandonResponse() {
        outputEnded = true
    }

    private static let headRoom = 256

    /// What the handler's headers decide about a whole response: its own `Content-Length`
    /// (taken out of the headers, `declaredLength`), and nginx's not-modified filter: a 200
    /// whose `Last-Modified` is the client's `If-Modified-Since` becomes a 304 with no body.
    private func applyHandlerFraming() {
        if let value = response.values("Content-Length")?.last, let length = Int(value), length >= 0 {
            declaredLength = length
            response.set("Content-Length", nil)
        }
        if response.status == 200, let modified = response.values("Last-Modified")?.last,
           requestHeader(named: "If-Modified-Since") == modified
        {
            response.status = 304
            responseBody.clear()
            response.set("Content-Type", nil)
            response.omitsContentType = true
            declaredLength = nil
        }
    }

    private func completeResponse() -> ByteBuffer {
        headersSent = true
        if let errorStatus { response.status = errorStatus }
        if let exitStatus {
            if !errorPageFiltered {
                responseBody = ByteBuffer(string: HTTPResponseHead.errorPage(exitStatus, serverTokens: location.settings.serverTokens))
            }
            if HTTPResponseHead.hasErrorPage(exitStatus) {
                response.set("Content-Type", ["text/html"])
            } else {
                response.set("Content-Type", nil)
                response.omitsContentType = true
            }
        }
        if !response.headers.isEmpty && exitStatus == nil { applyHandlerFraming() }
        var framing: HTTPResponseHead.BodyFraming =
            hasNoBody || (head.method == .head && luaWroteOutput && exitStatus == nil) ? .none : .length(responseBody.readableBytes)
        if case .length = framing, let declared = declaredLength {
            // A Content-Length the handler set: the body is cut to it, so that a kept-alive
            // connection stays in step (nginx sends the whole body after it).
            framing = .length(declared)
            if responseBody.readableBytes > declared { responseBody.moveWriterIndex(to: responseBody.readerIndex + declared) }
        }
        if head.method == .head || hasNoBody { responseBody.clear() }
        // The head goes into the room left in front of the body when it fits.
        // (Used in place: a local copy would share its storage and make `clear()` allocate.)
        worker.headScratch.clear()
        if location.settings.editsOutputHeaders { applyHeaderEdits() }
        response.write(
            into: &worker.headScratch, framing: framing, keepAlive: keepAlive, defaultType: location.contentType(forExtension: pathExtension()),
            date: worker.date.current(), serverTokens: location.settings.serverTokens)
        let headLength = worker.headScratch.readableBytes
        let start = responseBody.readerIndex - headLength
        if start >= 0 {
            responseBody.setBuffer(worker.headScratch, at: start)
            responseBody.moveReaderIndex(to: start)
            return responseBody
        }
        var out = Self.allocator.buffer(capacity: headLength + responseBody.readableBytes)
        out.writeImmutableBuffer(worker.headScratch)
        out.writeBuffer(&responseBody)
        return out
    }

    private static let allocator = ByteBufferAllocator()

    func writeStreamedHead(into out: inout ByteBuffer) {
        headersSent = true
        if let errorStatus { response.status = errorStatus }
        // A subrequest's head is its parent's `res.status` and `res.header`, not bytes.
        if subrequest != nil { return }
        let framing: HTTPResponseHead.BodyFraming
        // A HEAD response has no body to frame: nginx sends neither chunked nor a length.
        if hasNoBody || head.method == .head {
            framing = .none
        } else if head.version == .http1_1 {
            framing = .chunked
        } else {
            framing = .untilClose
            streamedUntilClose = true
        }
        if location.settings.editsOutputHeaders { applyHeaderEdits() }
        response.write(
            into: &out, framing: framing, keepAlive: keepAlive, defaultType: location.contentType(forExtension: pathExtension()),
            date: worker.date.current(), serverTokens: location.settings.serverTokens)
    }

    /// The head (once), then the pending body as one chunk, then the terminating chunk when
    /// `last`; HEAD requests get the head only.
    func streamedPart(last: Bool) -> ByteBuffer {
        // A subrequest keeps its body for its parent: nothing goes out.
        if subrequest != nil {
            headersSent = true
            return ByteBuffer()
        }
        // One allocation for the part: the head's room, the chunk and its framing.
        var out = ByteBuffer()
        out.reserveCapacity((headersSent ? 0 : 512) + responseBody.readableBytes + 32)
        if !headersSent { writeStreamedHead(into: &out) }
        guard head.method != .head, !hasNoBody else {
            responseBody.clear()
            return out
        }
        let chunked = head.version == .http1_1
        if responseBody.readableBytes > 0 {
            if chunked { Self.writeChunkSize(responseBody.readableBytes, into: &out) }
            out.writeBuffer(&responseBody)
            if chunked { out.writeString("\r\n") }
            responseBody.clear()
        }
        if last && chunked { out.writeString("0\r\n\r\n") }
        return out
    }

    /// A chunk's size line, `HEX\r\n` (lower-case hex, as nginx writes it), without building
    /// a string.
    static func writeChunkSize(_ size: Int, into out: inout ByteBuffer) {
        var digits: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            var value = UInt(truncatingIfNeeded: max(size, 0))
            var start = raw.count
            repeat {
                start -= 1
                let digit = UInt8(truncatingIfNeeded: value & 0xF)
                raw[start] = digit < 10 ? digit + UInt8(ascii: "0") : digit - 10 + UInt8(ascii: "a")
                value >>= 4
            } while value != 0 && start > 0
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[start...]))
        }
        out.writeStaticString("\r\n")
    }
}
