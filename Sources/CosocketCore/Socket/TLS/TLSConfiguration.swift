/// The `lua_ssl_*` settings of a location: what the client contexts of its cosockets' TLS
/// handshakes are built from (``TLSContext``). A value, so that locations that set the same
/// share one context.
public struct TLSConfiguration: Sendable, Hashable {
    /// The protocol versions `lua_ssl_protocols` names.
    public enum ProtocolVersion: String, Sendable, Hashable, CaseIterable, Comparable {
        case sslv2 = "SSLv2", sslv3 = "SSLv3", tlsv1 = "TLSv1", tlsv1_1 = "TLSv1.1", tlsv1_2 = "TLSv1.2", tlsv1_3 = "TLSv1.3"

        var rank: Int {
            switch self {
            case .sslv2: return 0
            case .sslv3: return 1
            case .tlsv1: return 2
            case .tlsv1_1: return 3
            case .tlsv1_2: return 4
            case .tlsv1_3: return 5
            }
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    /// `lua_ssl_trusted_certificate`: a PEM file of CA certificates for verification.
    public var trustedCertificate: String?
    /// `lua_ssl_verify_depth` (default 1, as the reference's).
    public var verifyDepth: Int = 1
    /// `lua_ssl_protocols` (default TLSv1.2 and TLSv1.3).
    public var protocols: Set<ProtocolVersion> = [.tlsv1_2, .tlsv1_3]
    /// `lua_ssl_ciphers`, OpenSSL's cipher-list syntax (default `DEFAULT`).
    public var ciphers: String = "DEFAULT"
    /// `lua_ssl_conf_command NAME VALUE`, in order (OpenSSL's SSL_CONF_cmd).
    public var confCommands: [ConfCommand] = []
    /// `lua_ssl_crl`: a PEM file of revocation lists checked with the chain.
    public var crl: String?
    /// `lua_ssl_certificate` / `lua_ssl_certificate_key`: the client certificate (chain) and key
    /// every handshake presents unless `setclientcert` gave another.
    public var certificate: String?
    public var certificateKey: String?
    /// `lua_ssl_verify_default on` (ours): handshakes that do not say whether to verify do.
    public var verifiesByDefault = false

    public struct ConfCommand: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init() {}

    /// The settings that shape the OpenSSL context (all but ``verifiesByDefault``).
    var contextKey: TLSConfiguration {
        var key = self
        key.verifiesByDefault = false
        return key
    }
}
