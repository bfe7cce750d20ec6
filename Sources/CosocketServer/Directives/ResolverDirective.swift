import CosocketCore
import NIOCore

/// nginx's `resolver ADDR[:PORT] ... [ipv6=on|off] [valid=TIME]`: nameservers as IP literals
/// (`[v6]` or `[v6]:port` for IPv6), port 53 by default.
enum ResolverDirective {
    static func parse(_ node: ConfigNode) throws(ConfigError) -> DNSResolverConfiguration {
        guard !node.arguments.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
        var configuration = DNSResolverConfiguration(nameservers: [])
        for argument in node.arguments {
            func invalid() -> ConfigError { node.error(.directive(name: node.name, message: "invalid parameter \"\(argument)\"")) }
            if argument.hasPrefix("ipv6=") {
                switch argument.dropFirst(5) {
                case "on": configuration.ipv6 = true
                case "off": configuration.ipv6 = false
                default: throw invalid()
                }
            } else if argument.hasPrefix("valid=") {
                guard let milliseconds = try? ConfigUnits.milliseconds(String(argument.dropFirst(6))) else { throw invalid() }
                configuration.valid = .milliseconds(Int64(milliseconds))
            } else {
                guard let address = nameserver(argument) else {
                    throw node.error(.directive(name: node.name, message: "host not found in resolver \"\(argument)\""))
                }
                configuration.nameservers.append(address)
            }
        }
        guard !configuration.nameservers.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
        return configuration
    }

    static func nameserver(_ text: String) -> SocketAddress? {
        guard case .success(.host(let host, let port)) = DatagramPeer.parse(text, port: 53) else { return nil }
        return try? SocketAddress(ipAddress: host, port: port)
    }
}
