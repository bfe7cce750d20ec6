import NIOCore

/// The per-worker defaults that nginx sets with the `lua_socket_*` directives.
public struct EngineConfiguration: Sendable {
    /// `lua_socket_connect_timeout` (default 60 s).
    public var connectTimeout: TimeAmount = .seconds(60)
    /// `lua_socket_send_timeout` (default 60 s).
    public var sendTimeout: TimeAmount = .seconds(60)
    /// `lua_socket_read_timeout` (default 60 s).
    public var readTimeout: TimeAmount = .seconds(60)
    /// `lua_socket_buffer_size`: the size of each read from the kernel (default 4k, one page).
    public var bufferSize: Int = 4096
    /// `lua_socket_pool_size`: idle connections kept per pool key (default 30).
    public var poolSize: Int = 30
    /// `lua_socket_keepalive_timeout`: how long an idle pooled connection lives (default 60 s).
    public var keepaliveTimeout: TimeAmount = .seconds(60)
    /// `lua_socket_log_errors` (default on).
    public var logErrors: Bool = true
    /// `resolver ADDR ... [ipv6=on|off] [valid=TIME]`: names go to these nameservers (without
    /// it, only IP literals and /etc/hosts resolve). Its `timeout` is `resolver_timeout`'s.
    public var resolver: DNSResolverConfiguration?
    /// `resolver_timeout` (default 30 s), applied to ``resolver``.
    public var resolverTimeout: TimeAmount = .seconds(30)
    /// `lua_system_resolver on|off` (default on, http/server/location): without a
    /// ``resolver``, names that are not in /etc/hosts go to the nameservers of
    /// ``resolvConfPath``; off, they fail as the reference fails them (`no resolver defined`).
    public var systemResolver: Bool = true
    /// The resolv.conf the system resolver reads (``ResolvConf/defaultPath`` unless a test
    /// points it elsewhere).
    public var resolvConfPath: String = ResolvConf.defaultPath
    /// `lua_socket_connect_fallback on|off` (default on): a connect to a name with several
    /// addresses tries them in turn (``ConnectAttempts``); off, it tries one picked at
    /// random, as the reference does.
    public var connectFallback: Bool = true
    /// The `lua_ssl_*` settings of `sslhandshake`.
    public var tls = TLSConfiguration()

    public init() {}
}
