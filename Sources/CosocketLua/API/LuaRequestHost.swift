import CosocketCore

/// What the request APIs (`ngx.var`, `ngx.req.*`, `ngx.status`, `ngx.header`) need from the
/// host that serves a request; the HTTP server implements it on its request object and
/// stores that object as the context's `host`.
public protocol LuaRequestHost: AnyObject {
    var method: String { get }
    /// The request target as received (`$request_uri`).
    var requestURI: String { get }
    /// The path part (`$uri`).
    var path: String { get }
    /// The query string without `?` (`$args`).
    var query: String { get }
    /// `1.0` or `1.1`.
    var httpVersion: Double { get }
    /// Request headers in arrival order.
    var requestHeaders: [(name: String, value: String)] { get }
    /// `ngx.var.NAME`; `nil` when the variable does not exist.
    func variable(_ name: String) -> String?
    /// `ngx.var[n]`: a regex capture of the request's `location`/`server_name`.
    func capture(_ index: Int) -> String?
    /// Sets a user variable (`set $x`) or a writable built-in; `false` when it cannot be set.
    func setVariable(_ name: String, _ value: String?) -> Bool
    /// The request body once it has arrived (see ``readBody(whenRead:)``); `nil` when there
    /// is none.
    var requestBody: [UInt8]? { get }
    /// `ngx.req.read_body()`: `true` when the body is here (or there is none, or a request
    /// socket took it); else `false`, and `whenRead` runs once it has arrived or the
    /// connection is gone.
    func readBody(whenRead: @escaping () -> Void) -> Bool
    /// Like ``readBody(whenRead:)`` but without taking the body for `get_body_data` (a
    /// chunked body is collected whole before `ngx.req.socket()` reads it).
    func waitForBody(whenRead: @escaping () -> Void) -> Bool
    /// `ngx.req.socket()`: the client connection, lent to read the body's `length` bytes
    /// (de-chunked bytes already buffered come first).
    /// `probing` only checks (nothing is lent); it answers `.chunked` for a chunked body still
    /// arriving.
    func requestBodyStream(probing: Bool) -> Result<(stream: AcceptedStream, length: Int), RequestSocketRefusal>
    /// `ngx.req.socket(true)`: the client connection, for good (no keep-alive after it).
    func rawRequestStream() -> Result<AcceptedStream, RequestSocketRefusal>
    /// `ngx.req.discard_body`: the body is gone for `get_body_data` and `get_post_args`.
    func discardBody()
    /// The request line and headers as received (`ngx.req.raw_header`).
    var rawHeader: String { get }
    var status: Int { get set }
    /// `ngx.status` as the reference reads it: 0 until it is set or the head goes out.
    var luaStatus: Int { get }
    /// `lua_transform_underscores_in_response_headers`.
    var transformsUnderscores: Bool { get }
    func responseHeader(_ name: String) -> [String]?
    func setResponseHeader(_ name: String, _ values: [String]?)
    /// `ngx.exit(status)`: returns `true` when the call should simply return (the host took
    /// over), `false` to end the context (or, for `ngx.OK` in a phase, that phase).
    func handleExit(status: Int, context: LuaContext) -> Bool
    /// `ngx.req.set_header`/`clear_header`: every header of that name is replaced by `values`
    /// (`nil` or none: removed), where the first of them stood. Name and values arrive escaped
    /// (``HeaderEscaping``).
    func setRequestHeader(_ name: String, _ values: [String]?)
    /// `ngx.req.set_method`: the method later phases, `ngx.req.get_method` and
    /// `$request_method` see.
    func setMethod(_ name: String)
    /// `ngx.req.set_uri(uri, jump)`: `$uri` becomes `path`; with `jump` (rewrite phase only)
    /// the location is found again for it once the phase ends.
    func setURI(_ path: String, jump: Bool)
    /// `ngx.req.start_time()`: when the request's head arrived, in seconds since the epoch.
    var startTime: Double { get }
    /// `ngx.req.is_internal()`: whether an internal redirect led here.
    var isInternal: Bool { get }
    /// `ngx.exec(uri, args)`: once the running phase has ended, the request moves to `path`'s
    /// location (a named one for `@name`, whose `args` are ignored) and runs its phases anew.
    /// `false` when the response has begun (Lua wrote output): nginx would have sent its head.
    func internalRedirect(path: String, args: String?) -> Bool
    /// `ngx.is_subrequest`.
    var isSubrequest: Bool { get }
    /// `ngx.location.capture_multi`: starts the subrequests; `done` runs once, when all have
    /// finished (possibly before this returns), with their results in order. Returns the
    /// error to raise when none could be started (nothing then runs `done`).
    func startSubrequests(_ specs: [SubrequestSpec], done: @escaping ([SubrequestResult]) -> Void) -> String?
    /// Response headers in order (`ngx.resp.get_headers`), without those nginx adds itself.
    var responseHeaders: [(name: String, values: [String])] { get }
    /// Whether the connection stays open after this response (`connection` in
    /// `ngx.resp.get_headers`).
    var keepsConnection: Bool { get }
    /// `ngx.req.get_body_file`: the file a body larger than `client_body_buffer_size` went
    /// to (then `requestBody` is `nil`), or one `set_body_file` named.
    var requestBodyFile: String? { get }
    /// `ngx.req.set_body_data`, `init_body`, `append_body`, `finish_body`, `set_body_file`:
    /// the reference's error text, or `nil`.
    func editBody(_ edit: RequestBodyEdit) -> String?
    /// What nginx appends to error-log lines about this request:
    /// `client: 127.0.0.1, server: name, request: "GET / HTTP/1.1", host: "example.com"`.
    var errorLogContext: String { get }
    /// nginx's `*N` connection number of the request's connection.
    var connectionNumber: Int { get }
    /// What a timer it creates appends after `context: ngx.timer`: `client: ..., server: ...`.
    var timerLogOrigin: String { get }
    #if os(Linux)
    /// The server side of the connection's TLS, for `ngx.ssl` in an HTTPS request.
    var tlsHandshake: TLSServerHandshake? { get }
    #endif
}

#if os(Linux)
extension LuaRequestHost {
    public var tlsHandshake: TLSServerHandshake? { nil }
}
#endif

/// A change of the request body from Lua.
public enum RequestBodyEdit {
    case replace(UnsafeRawBufferPointer)
    /// A blank body of that buffer size (`nil`: `client_body_buffer_size`).
    case begin(bufferSize: Int?)
    case append(UnsafeRawBufferPointer)
    case finish
    case file(path: String, autoClean: Bool)
}

/// Why `ngx.req.socket` answers `nil, err` (the reference's words).
public enum RequestSocketRefusal: String, Error, Sendable {
    case noBody = "no body"
    case bodyExists = "request body already exists"
    case bodyDiscarded = "request body discarded"
    case chunked = "chunked request bodies not supported yet"
    case pendingBodyRead = "pending request body reading in some other thread"
    case duplicateCall = "duplicate call"
    case unsupported = "not supported on this connection"
}

extension LuaRequestHost {
    /// Hosts without regex routing have no captures.
    public func capture(_ index: Int) -> String? { nil }
    /// Hosts without locations have neither internal redirects nor subrequests.
    public func internalRedirect(path: String, args: String?) -> Bool { false }
    public var isSubrequest: Bool { false }
    public func startSubrequests(_ specs: [SubrequestSpec], done: @escaping ([SubrequestResult]) -> Void) -> String? {
        "failed to issue subrequest: -1"
    }
    /// Hosts that do not keep their start time: now.
    public var startTime: Double? { nil }
}
