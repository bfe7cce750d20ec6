/// Where `connect` goes: a host and port, or a unix-domain socket path.
public enum ConnectTarget: Sendable, Equatable {
    case host(String, port: Int)
    case unix(path: String)

    /// The default pool key, as the reference builds it: `host:port`, or the socket path.
    public var defaultPoolKey: String {
        switch self {
        case .host(let host, let port): return "\(host):\(port)"
        case .unix(let path): return path
        }
    }

    /// Reads the reference's `unix:/path` form; any other string is a host name.
    public static func parse(host: String, port: Int?) -> ConnectTarget? {
        if host.hasPrefix("unix:") {
            return .unix(path: String(host.dropFirst(5)))
        }
        guard let port else { return nil }
        return .host(host, port: port)
    }
}

/// The pooling options of `connect(host, port, { pool = ..., pool_size = ..., backlog = ... })`.
public struct PoolOptions: Sendable, Equatable {
    public var name: String?
    public var size: Int?
    public var backlog: Int?

    public init(name: String? = nil, size: Int? = nil, backlog: Int? = nil) {
        self.name = name
        self.size = size
        self.backlog = backlog
    }
}
