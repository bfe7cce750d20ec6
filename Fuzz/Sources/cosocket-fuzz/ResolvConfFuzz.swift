import CosocketCore

/// The resolv.conf reader on a file's bytes. Checks glibc's caps hold whatever the file says
/// (3 nameservers, 6 search domains, ndots 0-15, attempts 1-5, timeout 1-30 s), search domains
/// are lower-case without a trailing dot, and the resolver settings repeat the nameservers
/// `attempts` times.
enum ResolvConfFuzz: FuzzTarget {
    static func run(_ input: [UInt8]) {
        let conf = ResolvConf.parse(String(decoding: input, as: UTF8.self))
        fuzzCheck(conf.nameservers.count <= 3, "\(conf.nameservers.count) nameservers")
        fuzzCheck(conf.search.count <= 6, "\(conf.search.count) search domains")
        fuzzCheck((0...15).contains(conf.ndots), "ndots \(conf.ndots)")
        fuzzCheck((1...5).contains(conf.attempts), "attempts \(conf.attempts)")
        fuzzCheck(conf.timeout >= .seconds(1) && conf.timeout <= .seconds(30), "timeout \(conf.timeout)")
        for domain in conf.search {
            fuzzCheck(!domain.isEmpty && !domain.hasSuffix(".") && domain == domain.lowercased(), "search domain \(domain)")
        }
        if let settings = conf.resolverConfiguration {
            fuzzCheck(settings.nameservers.count == conf.nameservers.count * conf.attempts, "rounds of nameservers")
            let names = settings.names(for: "host.example")
            fuzzCheck(!names.isEmpty && names.count <= conf.search.count + 1, "\(names.count) names to try")
        } else {
            fuzzCheck(conf.nameservers.isEmpty, "no resolver settings with nameservers")
        }
    }
}
