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
    private var regexes: [(regex: HostRegex, server: Server)] = []
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
            for written in names where !written.isEmpty {
                // A regex keeps its case (`\D` is not `\d`); it is compiled caseless instead.
                if written.hasPrefix("~") {
                    regexes.append((try HostRegex(String(written.dropFirst()), caseless: true), server))
                    continue
                }
                let name = written.lowercased()
                if name.hasPrefix("*.") {
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
    public func server(forHost host: String?) -> Server { route(forHost: host).server }

    /// The server for a `Host` header value and, when a `server_name ~regex` chose it, that
    /// regex's captures (which become `$1`.. and named variables, as in nginx).
    public func route(forHost host: String?) -> (server: Server, captures: LocationCaptures) {
        if isSingle { return (defaultServer, .none) }
        guard let host, !host.isEmpty else { return (defaultServer, .none) }
        var name = host.lowercased()
        if let colon = name.lastIndex(of: ":"), !name.hasSuffix("]") { name = String(name[..<colon]) }
        if name.hasSuffix(".") { name.removeLast() }
        if let server = exact[name] { return (server, .none) }
        for entry in leading {
            if name.hasSuffix(entry.suffix) && name.count > entry.suffix.count { return (entry.server, .none) }
            if entry.alsoBare && name == entry.suffix.dropFirst() { return (entry.server, .none) }
        }
        for entry in trailing where name.hasPrefix(entry.prefix) && name.count > entry.prefix.count {
            return (entry.server, .none)
        }
        for entry in regexes {
            if let captures = entry.regex.match(name) { return (entry.server, captures) }
        }
        return (defaultServer, .none)
    }
}
