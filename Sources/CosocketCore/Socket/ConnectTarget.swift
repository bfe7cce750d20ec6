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
        var bytes = host
        if bytes.withUTF8({ isUnixSocket(UnsafeRawBufferPointer($0)) }) {
            return .unix(path: String(host.dropFirst(5)))
        }
        guard let port else { return nil }
        return .host(host, port: port)
    }

    /// Whether `host` (its bytes, as Lua passes them) has the `unix:` prefix: the test on bytes
    /// spares building a string for it on every connect.
    public static func isUnixSocket(_ host: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "unix:"
        guard host.count >= prefix.utf8CodeUnitCount else { return false }
        for index in 0..<prefix.utf8CodeUnitCount where host[index] != prefix.utf8Start[index] { return false }
        return true
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
