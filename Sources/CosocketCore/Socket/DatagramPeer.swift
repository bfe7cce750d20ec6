/// The peer of `udpsock:setpeername(host [, port])`, read as nginx's `ngx_parse_url` reads it
/// there: `unix:/path`, `[v6]` or `[v6]:port`, `host` or `host:port` (a port in the string
/// wins over the argument). Errors are the reference's `failed to parse host name` family.
public enum DatagramPeer {
    public static func parse(_ host: String, port defaultPort: Int) -> Result<ConnectTarget, CosocketError> {
        let bytes = Array(host.utf8)
        func failure(_ reason: String) -> Result<ConnectTarget, CosocketError> {
            .failure(.badHostName(host: host, reason: reason))
        }
        if bytes.starts(with: Array("unix:".utf8)) {
            let path = bytes.dropFirst(5)
            if path.isEmpty { return failure("no path in the unix domain socket") }
            return .success(.unix(path: String(decoding: path, as: UTF8.self)))
        }
        var name: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return failure("invalid host") }
            name = bytes[1..<close]
            let rest = bytes[(close + 1)...]
            if rest.first == UInt8(ascii: ":") {
                portText = rest.dropFirst()
            } else if !rest.isEmpty {
                return failure("invalid host")
            }
        } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            name = bytes[..<colon]
            portText = bytes[(colon + 1)...]
        } else {
            name = bytes[...]
        }
        var port = defaultPort
        if let portText {
            guard let parsed = Self.port(portText) else { return failure("invalid port") }
            port = parsed
        }
        if name.isEmpty { return failure("no host") }
        return .success(.host(String(decoding: name, as: UTF8.self), port: port))
    }

    /// Decimal digits only, 1 to 65535 (nginx's `ngx_atoi` plus its range check).
    static func port(_ text: ArraySlice<UInt8>) -> Int? {
        guard !text.isEmpty, text.count <= 5 else { return nil }
        var value = 0
        for byte in text {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return (1...65535).contains(value) ? value : nil
    }
}
