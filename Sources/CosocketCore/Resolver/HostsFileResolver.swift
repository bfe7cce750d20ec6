import NIOCore

/// The interim resolver: IP literals and `/etc/hosts`, never the network.
///
/// The reference refuses every name without a `resolver` directive (`no resolver defined to
/// resolve "localhost"`); reading the hosts file lets `localhost` work out of the box. Names
/// that are not in the file fail as the reference fails them without a resolver, without
/// sending a query.
public final class HostsFileResolver: Resolver, @unchecked Sendable {
    private let entries: [String: [String]]

    public init(hostsFile path: String = "/etc/hosts") {
        entries = Self.parse(FileContents.read(path).map { String(decoding: $0, as: UTF8.self) } ?? "")
    }

    public init(hostsFileContents: String) {
        entries = Self.parse(hostsFileContents)
    }

    public func resolve(host: String, port: Int, on eventLoop: EventLoop) -> ResolveResult {
        if host.isEmpty { return .failed(.badHostName(host: host, reason: "no host")) }
        if let address = IPv4Literal.address(host, port: port) { return .resolved(address) }
        var literal = Substring(host)
        if host.utf8.first == UInt8(ascii: "["), host.utf8.last == UInt8(ascii: "]") {
            literal = literal.dropFirst().dropLast()
        }
        if let address = try? SocketAddress(ipAddress: String(literal), port: port) {
            return .resolved(address)
        }
        for candidate in entries[host.lowercased()] ?? [] {
            if let address = try? SocketAddress(ipAddress: candidate, port: port) { return .resolved(address) }
        }
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
}
