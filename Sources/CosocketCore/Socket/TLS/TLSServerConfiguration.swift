/// A `server {}`'s `ssl_*` settings, after nginx's http → server inheritance: what its
/// ``TLSServerContext`` is built from. nginx 1.22's defaults.
public struct TLSServerConfiguration: Sendable, Hashable {
    /// One `ssl_certificate` with its `ssl_certificate_key` (paired in order, as nginx pairs them).
    public struct CertificatePair: Sendable, Hashable {
        public var certificate: String
        public var key: String
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// `ssl_session_cache`.
    public enum SessionCache: Sendable, Hashable {
        /// `off`: the server refuses to resume by session ID.
        case off
        /// `none` (the default): nothing is stored, the client is not told so.
        case none
        /// `builtin[:size]` (sessions, OpenSSL's 20480 when not given), optionally with a
        /// `shared:NAME:SIZE` store besides.
        case caches(builtin: Int?, shared: SharedCache?)
    }

    /// `shared:NAME:SIZE`: one store per name for the whole process (its workers are threads).
    public struct SharedCache: Sendable, Hashable {
        public var name: String
        public var size: Int
        public init(name: String, size: Int) {
            self.name = name
            self.size = size
        }
    }

    /// `ssl_verify_client`.
    public enum VerifyClient: String, Sendable, Hashable {
        case off, on, optional
        case optionalNoCA = "optional_no_ca"
    }

    public var certificates: [CertificatePair] = []
    /// nginx 1.22 leaves TLSv1.3 out unless `ssl_protocols` names it (1.23.4 added it to the
    /// default): the reference answers a client offering 1.3 with a TLS 1.2 handshake.
    public var protocols: Set<TLSConfiguration.ProtocolVersion> = [.tlsv1, .tlsv1_1, .tlsv1_2]
    public var ciphers = "HIGH:!aNULL:!MD5"
    public var preferServerCiphers = false
    /// `ssl_session_timeout` in seconds.
    public var sessionTimeout = 300
    public var sessionCache = SessionCache.none
    public var sessionTickets = true
    /// `ssl_session_ticket_key` files, in order: the first encrypts new tickets.
    public var ticketKeyFiles: [String] = []
    public var clientCertificate: String?
    public var trustedCertificate: String?
    public var verifyClient = VerifyClient.off
    public var verifyDepth = 1
    public var dhparam: String?
    public var ecdhCurve = "auto"
    public var confCommands: [TLSConfiguration.ConfCommand] = []
    /// The code that runs inside this server's handshakes (``TLSServerHooks``). The client
    /// hello and session hooks of the address's default server are the ones that run: they
    /// come before SNI chooses a server, as in nginx.
    public var hooks: TLSHookPoints = []

    public init() {}
}
