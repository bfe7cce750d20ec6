import CosocketCore

/// The `ssl_*` directives of nginx's http SSL module (http and server, as nginx allows them),
/// merged from http into each server. Files are read when a server on a `listen ... ssl`
/// address builds its context (``TLSServerContext``), as nginx reads them at merge time.
public enum SSLServerDirectives {
    static let names: Set<String> = [
        "ssl_certificate", "ssl_certificate_key", "ssl_protocols", "ssl_ciphers", "ssl_prefer_server_ciphers",
        "ssl_session_timeout", "ssl_session_cache", "ssl_session_tickets", "ssl_session_ticket_key",
        "ssl_client_certificate", "ssl_trusted_certificate", "ssl_verify_client", "ssl_verify_depth",
        "ssl_dhparam", "ssl_ecdh_curve", "ssl_conf_command", "ssl",
    ]

    public static func handles(_ name: String) -> Bool { names.contains(name) }

    /// One level's settings as they merge: lists a level sets replace the outer level's.
    struct Settings {
        var configuration = TLSServerConfiguration()
        var certificates: [String] = []
        var keys: [String] = []
        /// `ssl on` (deprecated in nginx 1.22): every `listen` of the server is TLS.
        var sslOn = false
        /// Which lists this level has begun (the first entry at a level drops the inherited ones).
        var touched: Set<String> = []

        /// A server's start: it inherits everything, and its first list entries replace.
        func inherited() -> Settings {
            var copy = self
            copy.touched = []
            return copy
        }
    }

    static func apply(_ node: ConfigNode, to settings: inout Settings, prefix: String) throws(ConfigError) {
        func single() throws(ConfigError) -> String {
            guard node.arguments.count == 1 else { throw node.error(.invalidArgumentCount(node.name)) }
            return node.arguments[0]
        }
        func path() throws(ConfigError) -> String {
            let value = try single()
            return value.hasPrefix("/") || prefix.isEmpty ? value : prefix + "/" + value
        }
        func flag() throws(ConfigError) -> Bool {
            let value = try single()
            guard value == "on" || value == "off" else {
                throw node.error(.invalidFlag(name: node.name, value: value))
            }
            return value == "on"
        }
        func replacing(_ list: inout [String], with value: String) {
            if settings.touched.insert(node.name).inserted { list = [] }
            list.append(value)
        }
        switch node.name {
        case "ssl": settings.sslOn = try flag()
        case "ssl_certificate": replacing(&settings.certificates, with: try path())
        case "ssl_certificate_key": replacing(&settings.keys, with: try path())
        case "ssl_session_ticket_key": replacing(&settings.configuration.ticketKeyFiles, with: try path())
        case "ssl_client_certificate": settings.configuration.clientCertificate = try path()
        case "ssl_trusted_certificate": settings.configuration.trustedCertificate = try path()
        case "ssl_dhparam": settings.configuration.dhparam = try path()
        case "ssl_ciphers": settings.configuration.ciphers = try single()
        case "ssl_ecdh_curve": settings.configuration.ecdhCurve = try single()
        case "ssl_prefer_server_ciphers": settings.configuration.preferServerCiphers = try flag()
        case "ssl_session_tickets": settings.configuration.sessionTickets = try flag()
        case "ssl_protocols":
            guard !node.arguments.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
            var protocols: Set<TLSConfiguration.ProtocolVersion> = []
            for argument in node.arguments {
                guard let version = TLSConfiguration.ProtocolVersion(rawValue: argument) else {
                    throw node.error(.other("invalid value \"\(argument)\""))
                }
                protocols.insert(version)
            }
            settings.configuration.protocols = protocols
        case "ssl_session_timeout":
            guard let milliseconds = try? ConfigUnits.milliseconds(try single()) else {
                throw node.error(.directive(name: node.name, message: "invalid value"))
            }
            settings.configuration.sessionTimeout = milliseconds / 1000
        case "ssl_verify_depth":
            guard let depth = Int(try single()), depth >= 0, depth <= Int(Int32.max) else {
                throw node.error(.directive(name: node.name, message: "invalid number"))
            }
            settings.configuration.verifyDepth = depth
        case "ssl_verify_client":
            let value = try single()
            guard let mode = TLSServerConfiguration.VerifyClient(rawValue: value) else {
                throw node.error(.other("invalid value \"\(value)\""))
            }
            settings.configuration.verifyClient = mode
        case "ssl_session_cache":
            settings.configuration.sessionCache = try sessionCache(node)
        case "ssl_conf_command":
            guard node.arguments.count == 2 else { throw node.error(.invalidArgumentCount(node.name)) }
            if settings.touched.insert(node.name).inserted { settings.configuration.confCommands = [] }
            settings.configuration.confCommands.append(.init(name: node.arguments[0], value: node.arguments[1]))
        default:
            throw node.error(.unknownDirective(node.name))
        }
    }

    /// `ssl_session_cache off | none | [builtin[:size]] [shared:name:size]`, refused in nginx's
    /// words (`ngx_http_ssl_session_cache`).
    static func sessionCache(_ node: ConfigNode) throws(ConfigError) -> TLSServerConfiguration.SessionCache {
        guard !node.arguments.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
        var builtin: Int?
        var shared: TLSServerConfiguration.SharedCache?
        var alone: TLSServerConfiguration.SessionCache?
        for argument in node.arguments {
            let invalid = node.error(.other("invalid session cache \"\(argument)\""))
            switch argument {
            case "off": alone = .off
            case "none": alone = TLSServerConfiguration.SessionCache.none
            case "builtin": builtin = 20480
            case _ where argument.hasPrefix("builtin:"):
                guard let size = Int(argument.dropFirst(8)), size > 0 else { throw invalid }
                builtin = size
            case _ where argument.hasPrefix("shared:"):
                let parts = argument.dropFirst(7).split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, let size = try? ConfigUnits.size(String(parts[1])) else { throw invalid }
                // nginx's zone needs eight pages.
                guard size >= 8 * 4096 else {
                    throw node.error(.other("session cache \"\(argument)\" is too small"))
                }
                shared = .init(name: String(parts[0]), size: size)
            default:
                throw invalid
            }
        }
        if let alone {
            guard builtin == nil, shared == nil else { throw node.error(.other("invalid session cache \"\(node.arguments.joined(separator: " "))\"")) }
            return alone
        }
        return .caches(builtin: builtin, shared: shared)
    }

    /// The server's finished configuration: certificates paired with keys, and the checks
    /// nginx makes at merge time (no position, as nginx reports them).
    static func finish(_ settings: Settings) throws(ConfigError) -> TLSServerConfiguration {
        var configuration = settings.configuration
        for (index, certificate) in settings.certificates.enumerated() {
            guard index < settings.keys.count else {
                throw ConfigError(.other("no \"ssl_certificate_key\" is defined for certificate \"\(certificate)\""))
            }
            configuration.certificates.append(.init(certificate: certificate, key: settings.keys[index]))
        }
        if configuration.verifyClient == .on || configuration.verifyClient == .optional, configuration.clientCertificate == nil {
            throw ConfigError(.other("no ssl_client_certificate for ssl_verify_client"))
        }
        return configuration
    }
}
