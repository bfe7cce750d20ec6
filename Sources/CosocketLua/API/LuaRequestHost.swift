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
    func responseHeader(_ name: String) -> [String]?
    func setResponseHeader(_ name: String, _ values: [String]?)
    /// `ngx.exit(status)`: returns `true` when the call should simply return (the host took
    /// over), `false` to end the context (or, for `ngx.OK` in a phase, that phase).
    func handleExit(status: Int, context: LuaContext) -> Bool
    /// When the request started, in seconds since the epoch (`ngx.req.start_time()`); `nil`
    /// when the host does not keep it.
    var startTime: Double? { get }
    /// What nginx appends to error-log lines about this request:
    /// `client: 127.0.0.1, server: name, request: "GET / HTTP/1.1", host: "example.com"`.
    var errorLogContext: String { get }
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
    /// Hosts that do not keep their start time: now.
    public var startTime: Double? { nil }
}
