import Foundation

/// Picks the `server {}` block for a request's `Host` among those listening on one address,
/// in nginx's order: the exact name, the longest name with a leading wildcard
/// (`*.example.com`, or `.example.com`, which also matches `example.com`), the longest with
/// a trailing wildcard (`www.example.*`), the first matching regular expression (`~^www\d+`),
/// and otherwise the address's default server (`listen ... default_server`, or the first).
public struct ServerNameRouter<Server: Sendable>: Sendable {
    private var exact: [String: Server] = [:]
    /// Leading wildcards by the suffix they require (`.example.com`), longest first.
    private var leading: [(suffix: String, alsoBare: Bool, server: Server)] = []
    /// Trailing wildcards by the prefix they require (`www.example.`), longest first.
    private var trailing: [(prefix: String, server: Server)] = []
    private var regexes: [(regex: NameRegex, server: Server)] = []
    public let defaultServer: Server
    /// One server on the address: every request goes to it without looking at `Host`.
    private let isSingle: Bool

    /// `servers` in configuration order, with their `server_name` lists; `defaultIndex`
    /// marks the one with `default_server` (else the first is the default).
    public init(_ servers: [(names: [String], server: Server)], defaultIndex: Int? = nil) throws(ConfigError) {
        guard !servers.isEmpty else { throw ConfigError(.directive(name: "server", message: "no server for this address")) }
        defaultServer = servers[defaultIndex ?? 0].server
        isSingle = servers.count == 1
        for (names, server) in servers {
            for name in names.map({ $0.lowercased() }) where !name.isEmpty {
                if name.hasPrefix("~") {
                    regexes.append((try NameRegex(String(name.dropFirst())), server))
                } else if name.hasPrefix("*.") {
                    leading.append((String(name.dropFirst()), false, server))
                } else if name.hasPrefix(".") {
                    leading.append((name, true, server))
                } else if name.hasSuffix(".*") {
                    trailing.append((String(name.dropLast()), server))
                } else if exact[name] == nil {
                    exact[name] = server
                }
            }
        }
        leading.sort { $0.suffix.count > $1.suffix.count }
        trailing.sort { $0.prefix.count > $1.prefix.count }
    }

    /// Whether `Host` matters: with one server on the address it does not, and the caller
    /// can skip building the host string.
    public var dependsOnHost: Bool { !isSingle }

    /// The server for a `Host` header value (port and trailing dot ignored, case-insensitive).
    public func server(forHost host: String?) -> Server {
        if isSingle { return defaultServer }
        guard let host, !host.isEmpty else { return defaultServer }
        var name = host.lowercased()
        if let colon = name.lastIndex(of: ":"), !name.hasSuffix("]") { name = String(name[..<colon]) }
        if name.hasSuffix(".") { name.removeLast() }
        if let server = exact[name] { return server }
        for entry in leading {
            if name.hasSuffix(entry.suffix) && name.count > entry.suffix.count { return entry.server }
            if entry.alsoBare && name == entry.suffix.dropFirst() { return entry.server }
        }
        for entry in trailing where name.hasPrefix(entry.prefix) && name.count > entry.prefix.count {
            return entry.server
        }
        for entry in regexes where entry.regex.matches(name) { return entry.server }
        return defaultServer
    }
}

/// A `server_name ~regex`, matched case-insensitively against the whole host name.
struct NameRegex: @unchecked Sendable {
    private let regex: NSRegularExpression

    init(_ pattern: String) throws(ConfigError) {
        do {
            regex = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
        } catch {
            throw ConfigError(.regexCompileFailed(pattern: pattern, reason: "invalid pattern"))
        }
    }

    func matches(_ name: String) -> Bool {
        regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }
}
