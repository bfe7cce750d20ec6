#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// The system's nameservers, from `/etc/resolv.conf`: what names go to when no `resolver`
/// directive applies (unless `lua_system_resolver off`), through the same non-blocking
/// ``DNSResolver`` as the directive's.
///
/// Read as glibc reads it, for the parts that matter here: `nameserver ADDR` lines (at most
/// three, in order) and `options timeout:N attempts:N` (5 s and 2 by default, capped at 30 s
/// and 5). `search`, `domain`, `ndots` and the other options are ignored: names are asked
/// as they are written. One extension, for tests on a loopback port: a nameserver may carry
/// a port in the `resolver` directive's syntax (`127.0.0.1:5353`, `[::1]:5353`); glibc
/// skips such a line.
public struct ResolvConf: Sendable, Equatable {
    public var nameservers: [SocketAddress] = []
    /// How long each nameserver is given per attempt (`options timeout:N`).
    public var timeout: TimeAmount = .seconds(5)
    /// How many rounds of the nameservers a lookup makes (`options attempts:N`).
    public var attempts = 2

    public init() {}

    /// The file engines read unless told otherwise: `/etc/resolv.conf`, or the one named by
    /// `COSOCKET_RESOLV_CONF` (the test suites set it, so that no test sends a query to the
    /// machine's nameservers).
    public static let defaultPath: String = {
        if let path = getenv("COSOCKET_RESOLV_CONF") { return String(cString: path) }
        return "/etc/resolv.conf"
    }()

    /// The settings in the file at `path`; none (no nameservers) when it cannot be read.
    public static func read(_ path: String) -> ResolvConf {
        parse(FileContents.read(path).map { String(decoding: $0, as: UTF8.self) } ?? "")
    }

    public static func parse(_ text: String) -> ResolvConf {
        var conf = ResolvConf()
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver":
                guard fields.count >= 2, conf.nameservers.count < 3, let address = nameserver(String(fields[1])) else { continue }
                conf.nameservers.append(address)
            case "options":
                for option in fields.dropFirst() {
                    if option.hasPrefix("timeout:"), let seconds = Int(option.dropFirst(8)), seconds >= 0 {
                        conf.timeout = .seconds(Int64(min(max(seconds, 1), 30)))
                    } else if option.hasPrefix("attempts:"), let count = Int(option.dropFirst(9)), count >= 0 {
                        conf.attempts = min(max(count, 1), 5)
                    }
                }
            default:
                continue
            }
        }
        return conf
    }

    /// `ADDR` (IPv4 or IPv6, port 53), or the extension's `ADDR:PORT` / `[ADDR]:PORT`.
    static func nameserver(_ text: String) -> SocketAddress? {
        if let address = try? SocketAddress(ipAddress: text, port: 53) { return address }
        guard case .success(.host(let host, let port)) = DatagramPeer.parse(text, port: 53) else { return nil }
        return try? SocketAddress(ipAddress: host, port: port)
    }

    /// The ``DNSResolver`` settings that ask as glibc asks: each nameserver in turn, the list
    /// `attempts` times, each try given `timeout`; A and AAAA, answers kept for their TTL.
    /// Nil without nameservers: names then fail as the reference fails them.
    public var resolverConfiguration: DNSResolverConfiguration? {
        guard !nameservers.isEmpty else { return nil }
        let rounds = Array(repeating: nameservers, count: attempts).flatMap { $0 }
        return DNSResolverConfiguration(
            nameservers: rounds, ipv6: true, valid: nil, timeout: .nanoseconds(timeout.nanoseconds * Int64(rounds.count))
        )
    }
}
