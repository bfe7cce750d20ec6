#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// The system's resolver settings, from `/etc/resolv.conf`: where names go when no `resolver`
/// directive applies (unless `lua_system_resolver off`), through the same non-blocking
/// ``DNSResolver`` as the directive's, after the hosts file.
///
/// Read as glibc's `res_init` reads it, for the parts a stub resolver needs: `nameserver ADDR`
/// lines (at most three, in order; IPv4 or IPv6), `search` and `domain` (the last one wins;
/// at most six domains), and `options ndots:N timeout:N attempts:N` (1, 5 s and 2 by default,
/// capped at 15, 30 s and 5, as glibc caps them). A keyword counts only at the start of its
/// line; lines starting with `#` or `;`, other keywords (`sortlist`) and other options
/// (`rotate`, `edns0`) are ignored, and so is a value that does not parse. Unlike glibc, no
/// search domain is taken from the host name when the file names none, and `RES_OPTIONS` and
/// `LOCALDOMAIN` are not read: the file alone decides.
///
/// One extension, for tests on a loopback port: a nameserver may carry a port in the
/// `resolver` directive's syntax (`127.0.0.1:5353`, `[::1]:5353`). glibc skips such a line
/// (its address does not parse), so a file written for a test means nothing to other programs.
public struct ResolvConf: Sendable, Equatable {
    public var nameservers: [SocketAddress] = []
    /// The domains a name with fewer than ``ndots`` dots is tried in first (`search`, `domain`).
    public var search: [String] = []
    /// `options ndots:N`: a name with at least this many dots is asked as written first.
    public var ndots = 1
    /// How long each nameserver is given per try (`options timeout:N`).
    public var timeout: TimeAmount = .seconds(5)
    /// How many rounds of the nameservers a lookup makes (`options attempts:N`).
    public var attempts = 2

    public init() {}

    /// glibc's limits (`MAXNS`, `MAXDNSRCH`, `RES_MAXNDOTS`, `RES_MAXRETRANS`, `RES_MAXRETRY`).
    static let maxNameservers = 3, maxSearch = 6, maxNdots = 15, maxTimeout = 30, maxAttempts = 5

    /// The file engines read unless told otherwise (``EngineConfiguration/resolvConfPath``):
    /// `/etc/resolv.conf`, or the file named by the environment variable
    /// `COSOCKET_RESOLV_CONF`, which is for tests only: the corpus runner and `scripts/test`
    /// set it so that no test can send a query to the machine's own nameservers, and a
    /// `cosocket` process it starts reads a file naming the test's dnsmasq instead.
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
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            // glibc matches a keyword at the start of the line only.
            guard let keyword = fields.first, line.first != " ", line.first != "\t" else { continue }
            switch keyword {
            case "nameserver":
                guard fields.count >= 2, conf.nameservers.count < maxNameservers, let address = nameserver(String(fields[1])) else { continue }
                conf.nameservers.append(address)
            case "search", "domain":
                let domains = fields.dropFirst().prefix(keyword == "domain" ? 1 : maxSearch).compactMap(searchDomain)
                conf.search = Array(domains)
            case "options":
                for option in fields.dropFirst() { conf.apply(option) }
            default:
                continue
            }
        }
        return conf
    }

    /// One `options` word; ones that are not ours, or whose number does not parse, change nothing.
    private mutating func apply(_ option: Substring) {
        func number(_ prefix: String) -> Int? {
            guard option.hasPrefix(prefix), let value = Int(option.dropFirst(prefix.count)), value >= 0 else { return nil }
            return value
        }
        if let value = number("ndots:") {
            ndots = min(value, Self.maxNdots)
        } else if let value = number("timeout:") {
            timeout = .seconds(Int64(min(max(value, 1), Self.maxTimeout)))
        } else if let value = number("attempts:") {
            attempts = min(max(value, 1), Self.maxAttempts)
        }
    }

    /// A search domain as it is appended: lower-cased, without its trailing dot; nil for the
    /// root (`.`), which adds nothing, and for a domain DNS cannot carry.
    static func searchDomain(_ text: Substring) -> String? {
        let domain = DNSName.normalized(String(text))
        // A dot still at the end (`corp..`) is an empty label: `labels` would drop it and
        // accept `corp.`, and every name searched in it would then end in a dot.
        guard !domain.isEmpty, !domain.hasSuffix("."), DNSName.labels(domain) != nil else { return nil }
        return domain
    }

    /// `ADDR` (IPv4 or IPv6, port 53), or the extension's `ADDR:PORT` / `[ADDR]:PORT`.
    static func nameserver(_ text: String) -> SocketAddress? {
        if let address = try? SocketAddress(ipAddress: text, port: 53) { return address }
        guard case .success(.host(let host, let port)) = DatagramPeer.parse(text, port: 53) else { return nil }
        return try? SocketAddress(ipAddress: host, port: port)
    }

    /// The ``DNSResolver`` settings that ask as glibc asks: each nameserver in turn, the list
    /// `attempts` times, each try given `timeout`; A and AAAA (glibc's `AF_UNSPEC` lookups),
    /// answers kept for their TTL; the search list and `ndots`. Nil without nameservers:
    /// names then fail as the reference fails them without a resolver.
    public var resolverConfiguration: DNSResolverConfiguration? {
        guard !nameservers.isEmpty else { return nil }
        let rounds = Array(repeating: nameservers, count: attempts).flatMap { $0 }
        return DNSResolverConfiguration(
            nameservers: rounds, ipv6: true, valid: nil, timeout: .nanoseconds(timeout.nanoseconds * Int64(rounds.count)),
            search: search, ndots: ndots
        )
    }
}
