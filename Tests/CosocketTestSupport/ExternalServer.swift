import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real server process (redis-server, memcached) on a free loopback port, stopped on deinit.
public final class ExternalServer: @unchecked Sendable {
    public let port: Int
    private var pid: pid_t = 0

    public enum Kind: Sendable {
        case redis, memcached
        /// dnsmasq answering only from the given options (`--host-record=...`, `--cname=...`),
        /// forwarding nothing, on 127.0.0.1 (UDP and TCP).
        case dnsmasq([String])
    }

    /// Spawns with posix_spawn rather than Foundation's Process, whose `waitUntilExit` can
    /// hang inside swift-testing's executors.
    public init(_ kind: Kind) throws {
        port = freePort()
        let arguments: [String]
        switch kind {
        case .redis:
            arguments = ["/usr/bin/redis-server", "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""]
        case .memcached:
            arguments = ["/usr/bin/memcached", "-l", "127.0.0.1", "-p", "\(port)", "-U", "0", "-u", "root"]
        case .dnsmasq(let options):
            arguments = [
                "/usr/sbin/dnsmasq", "--no-daemon", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--no-poll", "--pid-file", "--user=root", "--local=/test/",
            ] + options
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let status = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard status == 0 else { throw CocoaError(.executableLoad) }
        // Stops at the first connect that works: dnsmasq forks a child per TCP connection and
        // caps them, so hundreds of probes filled its accept queue (15 s of SYN retries).
        for _ in 0..<500 {
            if canConnect(port: port) { break }
            usleep(10_000)
        }
    }

    public func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    deinit { stop() }

    /// A blocking connection kept open for repeated queries, so that inspecting the server
    /// does not itself leave closing connections behind in its counts.
    public func inspector() -> Inspector {
        Inspector(port: port)
    }

    public final class Inspector: @unchecked Sendable {
        private let fd: Int32
        private let lock = NSLock()

        public init(port: Int) {
            fd = Loopback.tcpSocket()
            Loopback.connect(fd, port: port)
        }

        deinit { close(fd) }

        /// Redis's `connected_clients`, this inspection connection included.
        public func connectedClients() -> Int {
            let info = query("INFO clients\r\n", until: "\r\n\r\n")
            return info.split(separator: "\r\n").first { $0.hasPrefix("connected_clients:") }
                .flatMap { Int($0.dropFirst("connected_clients:".count)) } ?? 0
        }

        /// Waits until the server has processed the start-up probes' closes.
        public func waitUntilAlone() async throws {
            for _ in 0..<100 where connectedClients() > 1 { try await Task.sleep(for: .milliseconds(10)) }
        }

        public func query(_ command: String, until terminator: String) -> String {
            lock.lock()
            defer { lock.unlock() }
            Peer.send(fd, command)
            var reply: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            // Bytes, not String.hasSuffix: "\r\n" is one Character, so "…\r\n" has no suffix "\n".
            while !reply.suffix(terminator.utf8.count).elementsEqual(terminator.utf8) {
                let got = recv(fd, &chunk, chunk.count, 0)
                if got <= 0 { break }
                reply.append(contentsOf: chunk[0..<got])
            }
            return String(decoding: reply, as: UTF8.self)
        }
    }
}

/// A port for another process to bind, from below the kernel's ephemeral range (32768 and
/// up): a port the kernel handed out (`bind` to 0, or a connect's source) is never one of
/// these, so the window between this check and the other process's bind cannot give the port
/// to an in-process server too — with `SO_REUSEPORT` on both sides the two would share it,
/// and a test's request would land on the other test's server.
public func freePort() -> Int {
    while true {
        let port = FreePorts.next()
        let fd = Loopback.tcpSocket()
        defer { close(fd) }
        if Loopback.bindToFreePort(fd, port: port) == port { return port }
    }
}

private enum FreePorts {
    private static let lock = NSLock()
    // Each test process starts elsewhere in the range, so parallel runs rarely meet.
    nonisolated(unsafe) private static var last = Int(getpid()) % 12000
    static func next() -> Int {
        lock.withLock {
            last = (last + 1) % 12000
            return 20000 + last
        }
    }
}

public func canConnect(port: Int) -> Bool {
    let fd = Loopback.tcpSocket()
    defer { close(fd) }
    return Loopback.connect(fd, port: port)
}
