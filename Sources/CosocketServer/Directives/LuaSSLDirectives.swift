import CosocketCore

/// The `lua_ssl_*` directives (http, server and location, as nginx allows them; not in a
/// location's `if`), merged downwards per location into the socket defaults' ``TLSConfiguration``
/// as the `lua_socket_*` ones are.
public enum LuaSSLDirectives {
    static let names: Set<String> = [
        "lua_ssl_trusted_certificate", "lua_ssl_verify_depth", "lua_ssl_protocols", "lua_ssl_ciphers",
        "lua_ssl_conf_command", "lua_ssl_crl", "lua_ssl_certificate", "lua_ssl_certificate_key",
        "lua_ssl_verify_default",
    ]

    public static func handles(_ name: String) -> Bool { names.contains(name) }

    /// Applies one directive; relative paths start at `prefix`.
    public static func apply(_ node: ConfigNode, to tls: inout TLSConfiguration, prefix: String) throws(ConfigError) {
        func single() throws(ConfigError) -> String {
            guard node.arguments.count == 1 else { throw node.error(.invalidArgumentCount(node.name)) }
            return node.arguments[0]
        }
        func path() throws(ConfigError) -> String {
            let value = try single()
            return value.hasPrefix("/") || prefix.isEmpty ? value : prefix + "/" + value
        }
        switch node.name {
        case "lua_ssl_trusted_certificate": tls.trustedCertificate = try path()
        case "lua_ssl_crl": tls.crl = try path()
        case "lua_ssl_certificate": tls.certificate = try path()
        case "lua_ssl_certificate_key": tls.certificateKey = try path()
        case "lua_ssl_ciphers": tls.ciphers = try single()
        case "lua_ssl_verify_depth":
            let value = try single()
            guard let depth = Int(value), depth >= 0, depth <= Int(Int32.max) else {
                throw node.error(.directive(name: node.name, message: "invalid number \"\(value)\""))
            }
            tls.verifyDepth = depth
        case "lua_ssl_protocols":
            guard !node.arguments.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
            var protocols: Set<TLSConfiguration.ProtocolVersion> = []
            for argument in node.arguments {
                guard let version = TLSConfiguration.ProtocolVersion(rawValue: argument) else {
                    let allowed = TLSConfiguration.ProtocolVersion.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
                    throw node.error(.other("invalid value \"\(argument)\" in \"\(node.name)\" directive, it must be \(allowed)"))
                }
                protocols.insert(version)
            }
            tls.protocols = protocols
        case "lua_ssl_conf_command":
            guard node.arguments.count == 2 else { throw node.error(.invalidArgumentCount(node.name)) }
            tls.confCommands.append(.init(name: node.arguments[0], value: node.arguments[1]))
        case "lua_ssl_verify_default":
            let value = try single()
            guard value == "on" || value == "off" else {
                throw node.error(.invalidFlag(name: node.name, value: value))
            }
            tls.verifiesByDefault = value == "on"
        default:
            throw node.error(.unknownDirective(node.name))
        }
    }

    /// Builds the context `tls` describes, as nginx builds it while reading its configuration,
    /// so that a file that cannot be loaded stops the start rather than the first handshake.
    static func check(_ tls: TLSConfiguration, at node: ConfigNode?) throws(ConfigError) {
        guard tls != TLSConfiguration() else { return }
        do {
            _ = try TLSContext(tls)
        } catch {
            if let node { throw node.error(.other(error.description)) }
            throw ConfigError(.other(error.description))
        }
    }
}
