#if os(Linux)
import CosocketTestSupport
import Foundation
import NIOCore
import Testing

@testable import CosocketCore

/// The resolver against a real dnsmasq on a loopback port, answering only the records the
/// tests define (it forwards nothing).
@Suite(.serialized) struct DNSResolverTests {
    static let group = CosocketEventLoopGroup(numberOfThreads: 1)
    let loop = DNSResolverTests.group.group.next()

    static let records = [
        "--host-record=a.test,127.0.0.5", "--host-record=six.test,::5", "--host-record=both.test,127.0.0.6,::6",
        "--cname=alias.test,a.test", "--local-ttl=600",
    ] + (1...40).map { "--host-record=big.test,127.0.1.\($0)" }

    func resolver(_ servers: [Int], ipv6: Bool = true, valid: TimeAmount? = nil, timeout: TimeAmount = .seconds(5)) throws -> DNSResolver {
        let addresses = try servers.map { try SocketAddress(ipAddress: "127.0.0.1", port: $0) }
        return DNSResolver(
            configuration: DNSResolverConfiguration(nameservers: addresses, ipv6: ipv6, valid: valid, timeout: timeout),
            hosts: HostsFileResolver(hostsFileContents: "127.0.0.9 fromhosts.test\n")
        )
    }

    enum Answer: Equatable {
        case address(String, immediately: Bool)
        case error(String)
    }

    /// Resolves on the loop: every address, in order, space-separated; whether the answer came
    /// inside the call (cache, hosts file).
    func lookup(_ resolver: DNSResolver, _ host: String) async -> Answer {
        await withCheckedContinuation { continuation in
            loop.execute {
                switch resolver.resolve(host: host, port: 80, on: loop) {
                case .resolved(let addresses): continuation.resume(returning: .address(Self.text(addresses), immediately: true))
                case .failed(let error): continuation.resume(returning: .error(error.message))
                case .pending(let future):
                    future.whenComplete { result in
                        switch result {
                        case .success(let addresses): continuation.resume(returning: .address(Self.text(addresses), immediately: false))
                        case .failure(let error): continuation.resume(returning: .error((error as? CosocketError)?.message ?? "\(error)"))
                        }
                    }
                }
            }
        }
    }

    static func text(_ addresses: ResolvedAddresses) -> String {
        addresses.all.map { "\($0.ipAddress ?? "")" + ($0.port == 80 ? "" : ":\($0.port ?? 0)") }.joined(separator: " ")
    }

    @Test func answersAAAAACNAMEAndHosts() async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let resolver = try resolver([dns.port])
        #expect(await lookup(resolver, "a.test") == .address("127.0.0.5", immediately: false))
        #expect(await lookup(resolver, "A.Test.") == .address("127.0.0.5", immediately: true))
        #expect(await lookup(resolver, "six.test") == .address("::5", immediately: false))
        #expect(await lookup(resolver, "both.test") == .address("127.0.0.6 ::6", immediately: false))
        #expect(await lookup(resolver, "alias.test") == .address("127.0.0.5", immediately: false))
        #expect(await lookup(resolver, "fromhosts.test") == .address("127.0.0.9", immediately: true))
        #expect(await lookup(resolver, "127.0.0.3") == .address("127.0.0.3", immediately: true))
        #expect(await lookup(resolver, "nx.test") == .error("nx.test could not be resolved (3: Host not found)"))
        let ipv4Only = try self.resolver([dns.port], ipv6: false)
        #expect(await lookup(ipv4Only, "six.test") == .error("six.test could not be resolved (3: Host not found)"))
    }

    @Test func aTruncatedAnswerIsAskedAgainOverTCP() async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let resolver = try resolver([dns.port], ipv6: false)
        guard case .address(let first, immediately: false) = await lookup(resolver, "big.test") else {
            Issue.record("big.test did not resolve")
            return
        }
        // Every record, over TCP: A records come back in an order of dnsmasq's choosing.
        let all = first.split(separator: " ")
        #expect(all.count == 40)
        #expect(Set(all) == Set((1...40).map { "127.0.1.\($0)"[...] }))
    }

    @Test func cachesForTheTTLOrValid() async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records.filter { !$0.hasPrefix("--local-ttl") } + ["--local-ttl=1"]))
        let resolver = try resolver([dns.port])
        #expect(await lookup(resolver, "a.test") == .address("127.0.0.5", immediately: false))
        #expect(await lookup(resolver, "a.test") == .address("127.0.0.5", immediately: true))
        #expect(resolver.queriesStarted == 1)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(await lookup(resolver, "a.test") == .address("127.0.0.5", immediately: false))
        #expect(resolver.queriesStarted == 2)
        let valid = try self.resolver([dns.port], valid: .seconds(30))
        #expect(await lookup(valid, "a.test") == .address("127.0.0.5", immediately: false))
        try await Task.sleep(for: .milliseconds(1100))
        #expect(await lookup(valid, "a.test") == .address("127.0.0.5", immediately: true))
    }

    @Test func concurrentLookupsShareOneQuery() async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let resolver = try resolver([dns.port])
        // Three lookups started in one turn of the loop, two of them for the same name.
        let answers: [String] = await withCheckedContinuation { continuation in
            loop.execute {
                // (An answer can be back inside the call; the second lookup then hits the cache.)
                let futures = ["both.test", "both.test", "a.test"].map { host -> EventLoopFuture<ResolvedAddresses> in
                    switch resolver.resolve(host: host, port: 80, on: loop) {
                    case .pending(let future): return future
                    case .resolved(let address): return loop.makeSucceededFuture(address)
                    case .failed(let error): return loop.makeFailedFuture(error)
                    }
                }
                #expect(resolver.queriesStarted == 2)
                EventLoopFuture.whenAllComplete(futures, on: loop).whenSuccess { results in
                    continuation.resume(returning: results.map { (try? $0.get()).map(Self.text) ?? "failed" })
                }
            }
        }
        #expect(answers == ["127.0.0.6 ::6", "127.0.0.6 ::6", "127.0.0.5"])
    }

    @Test func aMuteNameserverIsSkippedAndAllMuteTimesOut() async throws {
        let dns = try ExternalServer(.dnsmasq(Self.records))
        let mute = DatagramTestPeer(mute: true)
        let resolver = try resolver([mute.port, dns.port], timeout: .milliseconds(600))
        let started = NIODeadline.now()
        #expect(await lookup(resolver, "a.test") == .address("127.0.0.5", immediately: false))
        #expect(NIODeadline.now() - started >= .milliseconds(250))
        let allMute = try self.resolver([mute.port, mute.port], timeout: .milliseconds(200))
        #expect(await lookup(allMute, "a.test") == .error("a.test could not be resolved (110: Operation timed out)"))
    }

    @Test func answersFromElsewhereAreDropped() async throws {
        // A nameserver that answers with the wrong id, then nothing: the lookup times out.
        let liar = DatagramTestPeer(transform: { query in
            var reply = query
            reply[0] ^= 0xff
            reply[2] |= 0x80
            return reply
        })
        let resolver = try resolver([liar.port], ipv6: false, timeout: .milliseconds(200))
        #expect(await lookup(resolver, "a.test") == .error("a.test could not be resolved (110: Operation timed out)"))
    }
}
#endif
