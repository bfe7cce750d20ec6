import NIOCore

/// IP literals and `/etc/hosts`, never the network: the resolver without a `resolver`
/// directive when the system resolver is off (`lua_system_resolver off`) or has no
/// nameservers, and the first step of every ``DNSResolver``.
///
/// The reference refuses every name without a `resolver` directive (`no resolver defined to
/// resolve "localhost"`); reading the hosts file lets `localhost` work out of the box. Names
/// that are not in the file fail as the reference fails them without a resolver, without
/// sending a query.
public final class HostsFileResolver: Resolver, @unchecked Sendable {
    /// Each lower-cased name's addresses in file order, parsed once (port 0).
    private let entries: [String: [SocketAddress]]

    public init(hostsFile path: String = "/etc/hosts") {
        entries = Self.addresses(Self.parse(FileContents.read(path).map { String(decoding: $0, as: UTF8.self) } ?? ""))
    }

    public init(hostsFileContents: String) {
        entries = Self.addresses(Self.parse(hostsFileContents))
    }

    public func resolve(host: String, port: Int, on eventLoop: EventLoop) -> ResolveResult {
        if host.isEmpty { return .failed(.badHostName(host: host, reason: "no host")) }
        if let address = IPv4Literal.address(host, port: port) { return .resolved(ResolvedAddresses(address)) }
        var literal = Substring(host)
        if host.utf8.first == UInt8(ascii: "["), host.utf8.last == UInt8(ascii: "]") {
            literal = literal.dropFirst().dropLast()
        }
        if let address = try? SocketAddress(ipAddress: String(literal), port: port) {
            return .resolved(ResolvedAddresses(address))
        }
        if let found = entries[host.lowercased()], !found.isEmpty { return .resolved(ResolvedAddresses(found, port: port)) }
        return .failed(.noResolver(host: host))
    }

    /// Maps each lower-cased name to its addresses in file order (IPv4 lines usually come first).
    static func parse(_ text: String) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { continue }
            let address = String(fields[0])
            for name in fields.dropFirst() { result[name.lowercased(), default: []].append(address) }
        }
        return result
    }

    /// The parsed entries as addresses; lines whose address does not parse are left out, and
    /// a name listed twice with one address keeps it once.
    private static func addresses(_ parsed: [String: [String]]) -> [String: [SocketAddress]] {
        parsed.mapValues { texts in
            var addresses: [SocketAddress] = []
            for text in texts {
                guard let address = try? SocketAddress(ipAddress: text, port: 0), !addresses.contains(address) else { continue }
                addresses.append(address)
            }
            return addresses
        }
    }
}
