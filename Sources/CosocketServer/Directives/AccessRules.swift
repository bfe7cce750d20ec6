#if canImport(Glibc)
import Glibc
#endif

/// nginx's access module: `allow` and `deny` with an address, a CIDR network, `unix:` or `all`,
/// in http, server and location. The first rule that matches the client decides; a denied
/// client gets a 403 ("access forbidden by rule"). A level with rules of its own does not
/// inherit the outer level's, as nginx merges them.
struct AccessRule: Sendable, Equatable {
    var allows: Bool
    enum Match: Sendable, Equatable {
        case all
        case unix
        /// An address of 4 or 16 bytes and the length of its network prefix in bits.
        case network([UInt8], prefix: Int)
    }
    var match: Match

    static func parse(_ node: ConfigNode) throws(ConfigError) -> AccessRule {
        guard node.arguments.count == 1 else { throw node.error(.invalidArgumentCount(node.name)) }
        let argument = node.arguments[0]
        let allows = node.name == "allow"
        switch argument {
        case "all": return AccessRule(allows: allows, match: .all)
        case "unix:": return AccessRule(allows: allows, match: .unix)
        default:
            let parts = argument.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = Self.address(String(parts[0])) else {
                throw node.error(.directive(name: node.name, message: "invalid parameter \"\(argument)\""))
            }
            var prefix = address.count * 8
            if parts.count == 2 {
                guard let bits = Int(parts[1]), (0...prefix).contains(bits) else {
                    throw node.error(.directive(name: node.name, message: "invalid parameter \"\(argument)\""))
                }
                prefix = bits
            }
            return AccessRule(allows: allows, match: .network(address, prefix: prefix))
        }
    }

    /// The bytes of an IPv4 or IPv6 literal.
    static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Whether the rule is about `client`: its address bytes, or nil for a unix-domain client.
    func matches(_ client: [UInt8]?) -> Bool {
        switch match {
        case .all: return true
        case .unix: return client == nil
        case .network(let network, let prefix):
            guard var client else { return false }
            // An IPv4 client on an IPv6 socket (::ffff:a.b.c.d) is matched as IPv4.
            if network.count == 4 && client.count == 16 && client[0..<10].allSatisfy({ $0 == 0 }) && client[10] == 0xff && client[11] == 0xff {
                client = Array(client[12...])
            }
            guard client.count == network.count else { return false }
            var bits = prefix
            for index in network.indices where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
                if client[index] & mask != network[index] & mask { return false }
                bits -= 8
            }
            return true
        }
    }

    /// Whether `rules` let `client` in: the first that matches decides; none lets it in.
    static func allows(_ rules: [AccessRule], _ client: [UInt8]?) -> Bool {
        rules.first { $0.matches(client) }?.allows ?? true
    }
}
