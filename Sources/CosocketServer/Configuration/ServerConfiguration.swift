import CosocketCore
import CosocketLua

/// Lua code attached to a phase or to `init*_by_lua*`, compiled once per worker.
public struct LuaSource: Sendable, Hashable {
    public var code: [UInt8]
    /// The chunk name errors show, as the reference names it (`=content_by_lua(nginx.conf:12)`).
    public var chunkName: String
    /// Numbers the configuration's sources from 0, so that a worker finds a compiled chunk
    /// by index rather than by hashing its code on every request; a source made elsewhere
    /// (-1) is compiled each time it runs.
    public var id: Int
    /// A `*_by_lua_file` path read when a request runs it, as the reference reads every such
    /// file: one that names variables (`html/$arg_f.lua`), or one missing at start (the
    /// request then fails with 404 or 500, not the start). Made absolute with the prefix,
    /// after the expansion when it starts with a variable.
    public var pathTemplate: String?

    public init(code: [UInt8], chunkName: String, id: Int = -1, pathTemplate: String? = nil) {
        self.code = code
        self.chunkName = chunkName
        self.id = id
        self.pathTemplate = pathTemplate
    }
}

/// A request phase's handler: `rewrite`, `access` or `content`.
public struct LuaPhase: Sendable {
    public var name: String
    public var source: LuaSource
}

/// `set $name value` (the value may name variables), or `set_by_lua* $name` with its code and
/// arguments (which may name variables too).
public struct VariableAssignment: Sendable {
    public var name: String
    public var value: String
    public var lua: LuaSource?
    public var arguments: [String] = []
}

/// The Lua handlers of one location, after nginx-style inheritance from `http` and `server`.
public struct LocationConfiguration: Sendable {
    public var rewrite: LuaSource?
    public var access: LuaSource?
    public var content: LuaSource?
    public var log: LuaSource?
    /// The rewrite, access and content handlers that are set, in the order they run.
    public var phases: [LuaPhase] = []
    /// The server's rewrite-module directives (`set`, `if`, `return`, ...), which run first
    /// (nginx's server rewrite phase), then the location's.
    public var serverScript: [RewriteStep] = []
    public var script: [RewriteStep] = []
    /// Every variable the scripts `set`, with its value before they run: the value itself
    /// where the scripts are constant `set`s only (they then need not run), else empty.
    public var declaredVariables: [(name: String, value: String)] = []
    /// Whether the scripts run per request (see ``declaredVariables``).
    public var runsScript = false
    /// `header_filter_by_lua*` and `body_filter_by_lua*`.
    public var headerFilter: LuaSource?
    public var bodyFilter: LuaSource?
    /// `lua_filter_yield`: whether the filters may wait (cosockets, `ngx.sleep`, light threads).
    public var filterYield = true
    public var defaultType = "text/plain"
    /// `types {}`: file extension (lower case) to Content-Type, for responses that set none;
    /// nginx's built-in map until a `types` block replaces it.
    public var types: [String: String] = LocationConfiguration.builtInTypes

    /// `ngx_http_core_default_types`.
    public static let builtInTypes = ["html": "text/html", "gif": "image/gif", "jpg": "image/jpeg"]

    public var clientMaxBodySize = 1 << 20
    /// `client_body_buffer_size`: a body beyond it is kept in a file (`ngx.req.get_body_file`);
    /// nginx's default is two pages.
    public var clientBodyBufferSize = 16 * 1024
    /// `client_body_temp_path`: where those files go (nginx's default is under the prefix).
    public var clientBodyTempPath = "client_body_temp"
    /// `keepalive_timeout` in seconds (0: no keep-alive after a request here).
    public var keepaliveTimeout = 75
    /// `keepalive_requests`: the request that reaches it closes its connection.
    public var keepaliveRequests = 1000
    /// `send_timeout` in seconds: a client that takes nothing of the response for this long
    /// is closed.
    public var sendTimeout = 60
    /// `lua_check_client_abort`: a client that goes away ends the request or runs `ngx.on_abort`.
    public var checkClientAbort = false
    /// `lua_transform_underscores_in_response_headers` (on): `_` in names Lua sets or reads is `-`.
    public var transformUnderscores = true
    /// `client_body_timeout` in whole seconds: a body that stops arriving for this long ends
    /// its request.
    public var clientBodyTimeout = 60
    /// `absolute_redirect`: a `return 3xx /path` gets `scheme://host[:port]` in front, as nginx
    /// writes its own redirects.
    public var absoluteRedirect = true
    /// `lua_socket_*` as merged down to this location, or `nil` when neither its server nor
    /// it sets one (the worker's http-level values apply): a request then hands its
    /// cosockets nothing to copy.
    public var socketDefaults: EngineConfiguration?
    /// `server_tokens`: off sends `Server: nginx` and nginx's error pages, as nginx does.
    public var serverTokens = true
    /// `root` (nginx's default: `html` under the prefix), `alias` and `index`, for the static
    /// files a location without a content handler serves.
    public var staticRoot = "html"
    public var staticAlias: String?
    /// The prefix an `alias` replaces: the location's, unless it is a regex location.
    public var aliasedPrefix: String?
    public var indexFiles = ["index.html"]
    /// headers-more's `more_set_headers` and `more_clear_headers`, outer levels' first.
    var outputHeaderEdits: [HeaderEdit] = []
    /// `add_header`s (the innermost level that has any).
    var addedHeaders: [AddedHeader] = []
    /// Whether any of the three lists above and below has entries, and whether the location
    /// serves static files (it has no content handler): flags for the hot path, where
    /// reading an array or an optional source through the settings costs a retain and a release.
    /// `internal`: only internal redirects and subrequests reach the location; a client's
    /// request for it gets a 404.
    public var isInternal = false
    /// `allow` and `deny` (the innermost level that has any).
    var accessRules: [AccessRule] = []
    /// `error_page`s (the innermost level that has any) and `recursive_error_pages`.
    var errorPages: [ErrorPage] = []
    var recursiveErrorPages = false
    /// `expires` (nil for `off`).
    var expires: Expires?
    /// `try_files` (this location's own, or the server's for requests no location matches).
    var tryFiles: TryFiles? { didSet { hasTryFiles = tryFiles != nil } }
    /// Read on every phase change, where copying `tryFiles` out would retain its parts.
    private(set) var hasTryFiles = false
    var editsOutputHeaders = false
    var editsInputHeaders = false
    var checksAccess = false
    var servesStaticFiles = true
    /// `more_set_input_headers` and `more_clear_input_headers`, outer levels' first.
    var inputHeaderEdits: [HeaderEdit] = []
}

/// A location's settings, held by reference: a request keeps this one pointer instead of a
/// copy of the settings' many fields (a copy cost a retain per field per request).
public final class Location: Sendable {
    public let settings: LocationConfiguration

    public init(_ settings: LocationConfiguration) {
        self.settings = settings
    }

    /// The Content-Type of a response that set none: by the path's extension, else
    /// `default_type`, as `ngx_http_set_content_type` chooses. A method of the class, not of
    /// the settings: called on `settings` it copied the whole struct per response.
    func contentType(forExtension pathExtension: String?) -> String {
        guard let pathExtension, let type = settings.types[pathExtension] ?? settings.types[pathExtension.lowercased()] else { return settings.defaultType }
        return type
    }
}

/// One `listen` address.
public struct ListenAddress: Sendable, Hashable {
    /// An IP address (or `localhost`), or `unix:/path` for a unix-domain socket.
    public var host: String
    /// 0 for a unix-domain socket.
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// The socket file of a `listen unix:/path`, else `nil`.
    public var unixPath: String? {
        host.hasPrefix("unix:") ? String(host.dropFirst(5)) : nil
    }
}

/// How a server reads request heads: `large_client_header_buffers NUMBER SIZE` (a request
/// line longer than SIZE is a 414, a header line longer a 400, a head beyond the buffers a
/// 400), `ignore_invalid_headers` and `underscores_in_headers`. nginx reads a connection's
/// heads with its address's default server's values, before `Host` has chosen a server.
public struct RequestHeadLimits: Sendable, Hashable {
    /// `client_header_buffer_size`: the first buffer a head is read into (1k).
    public var firstBufferSize = 1024
    public var bufferCount = 4
    public var bufferSize = 8192
    public var ignoreInvalidHeaders = true
    public var underscoresInHeaders = false
    /// `client_header_timeout` in whole seconds (rounded up): a head that has not arrived by
    /// then closes its connection.
    public var headerTimeout = 60

    public init() {}

    func makeParser() -> HTTPRequestParser {
        HTTPRequestParser(
            // nginx keeps the lines already read where they are (the 1k first buffer, then each
            // large one) and moves only a line in progress to the next buffer.
            maxLineLength: max(bufferSize, firstBufferSize), maxHeadLength: firstBufferSize + bufferCount * bufferSize,
            ignoreInvalidHeaders: ignoreInvalidHeaders, underscoresInHeaders: underscoresInHeaders)
    }
}

/// One `server {}` block.
///
/// A class: each request finds its server through a ``ServerNameRouter``, and a reference
/// costs one retain where a copy would retain every field.
public final class VirtualServer: Sendable {
    public let listen: [ListenAddress]
    public let names: [String]
    public let locations: LocationMatcher<Location>
    /// The addresses this server is the `default_server` of.
    public let defaultFor: Set<ListenAddress>
    public let headLimits: RequestHeadLimits
    /// Where a request no location matches goes: the server's rewrite-module directives run
    /// (a `rewrite` may find it a location), then its static files are served.
    public let serverOnly: Location?

    public init(
        listen: [ListenAddress], names: [String], locations: LocationMatcher<Location>, defaultFor: Set<ListenAddress> = [],
        headLimits: RequestHeadLimits = RequestHeadLimits(), serverOnly: Location? = nil
    ) {
        self.serverOnly = serverOnly
        self.listen = listen
        self.names = names
        self.locations = locations
        self.defaultFor = defaultFor
        self.headLimits = headLimits
    }
}

/// Everything a configuration file sets, resolved and validated.
public struct ServerConfiguration: Sendable {
    /// `listen ... backlog=N`, by address (nginx's default is 511).
    public var listenBacklogs: [ListenAddress: Int32] = [:]
    public var workerProcesses = 1
    public var errorLogPath: String?
    public var errorLogLevel: LuaLogLevel = .error
    public var pidPath: String?
    /// `daemon on|off` as written; `nil` when the configuration does not say. Only an explicit
    /// `daemon on` forks to the background (nginx's default is on; the server's is the
    /// foreground, for process supervisors).
    public var daemon: Bool?
    public var masterProcess = true
    public var workerConnections = 1024
    public var engine = EngineConfiguration()
    public var lua = LuaConfiguration()
    public var initByLua: LuaSource?
    public var initWorkerByLua: LuaSource?
    /// `keepalive_timeout`, `keepalive_requests` and `send_timeout` at the http level: what
    /// a connection uses before its first request has found a location (its locations may
    /// set their own; nginx 1.22's defaults).
    public var keepaliveTimeoutSeconds = 75
    public var keepaliveRequests = 1000
    public var sendTimeoutSeconds = 60
    /// `server_tokens` at the http level, for the error pages of requests no location took.
    public var serverTokens = true
    /// `map`s, by the variable each makes.
    var maps: [String: VariableMap] = [:]
    public var servers: [VirtualServer] = []
    /// Per listening address, how a request's `Host` picks among the servers there.
    public var routers: [ListenAddress: ServerNameRouter<VirtualServer>] = [:]
    /// The `listen ... ssl` addresses, with their servers' TLS contexts.
    public var tls: [ListenAddress: TLSListener] = [:]
    /// `ssl_session_fetch_by_lua*` and `ssl_session_store_by_lua*` (http only: sessions are
    /// looked up before SNI chooses a server).
    public var sslSessionFetch: LuaSource?
    public var sslSessionStore: LuaSource?
    /// How many ``LuaSource``s the configuration holds (their `id`s are below this).
    public var luaSourceCount = 0
    /// Directives accepted but ignored, as `(name, file:line)`, for the start-up warnings.
    public var ignored: [(name: String, position: String)] = []
}

/// One `listen ... ssl` address: the context of each server there, the default server's first
/// (a handshake starts with it; SNI may then choose another server, as nginx chooses).
public final class TLSListener: Sendable {
    public let defaultContext: TLSServerContext
    private let contexts: [ObjectIdentifier: TLSServerContext]
    private let router: ServerNameRouter<VirtualServer>
    /// Each context's server's handshake hooks, by the context's identity.
    private let hooks: [ObjectIdentifier: TLSServerLua]

    init(
        defaultContext: TLSServerContext, contexts: [ObjectIdentifier: TLSServerContext], router: ServerNameRouter<VirtualServer>,
        hooks: [ObjectIdentifier: TLSServerLua] = [:]
    ) {
        self.defaultContext = defaultContext
        self.contexts = contexts
        self.router = router
        self.hooks = hooks
    }

    /// The hooks of the server `context` is of.
    public func hooks(of context: TLSServerContext) -> TLSServerLua {
        hooks[ObjectIdentifier(context)] ?? TLSServerLua()
    }

    /// Whether any server here has a hook (the handshake then carries the worker's runner).
    public var hasHooks: Bool { !defaultContext.configuration.hooks.isEmpty || hooks.values.contains { !$0.points.isEmpty } }

    /// The context of the server `name` (SNI) picks.
    public func context(forServerName name: String) -> TLSServerContext? {
        contexts[ObjectIdentifier(router.server(forHost: name))]
    }
}

/// A server's `ssl_certificate_by_lua*` and `ssl_client_hello_by_lua*` (its own, or for the
/// latter the http level's).
public struct TLSServerLua: Sendable {
    public var certificate: LuaSource?
    public var clientHello: LuaSource?

    public init(certificate: LuaSource? = nil, clientHello: LuaSource? = nil) {
        self.certificate = certificate
        self.clientHello = clientHello
    }

    var points: TLSHookPoints {
        var points: TLSHookPoints = []
        if certificate != nil { points.insert(.certificate) }
        if clientHello != nil { points.insert(.clientHello) }
        return points
    }
}
