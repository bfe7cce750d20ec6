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
    /// The `lua_ssl_*` settings of `sslhandshake`.
    public var tls = TLSConfiguration()

    public init() {}
}
