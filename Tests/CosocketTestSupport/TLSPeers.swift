import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The certificates `Tests/tls/make-certs` makes (with the openssl command), once per test
/// process, in a temporary directory.
public enum TLSCertificates {
    public static let directory: String = {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tls/make-certs").path
        let directory = NSTemporaryDirectory() + "cosocket-tls-\(getpid())"
        _ = SpawnedProcess.runToEnd(["/bin/sh", script, directory])
        return directory
    }()

    public static func path(_ name: String) -> String { directory + "/" + name }
}

/// A process spawned with posix_spawn (Foundation's Process can hang inside swift-testing's
/// executors), its stdout and stderr in a file, killed on `stop` or deinit.
public final class SpawnedProcess: @unchecked Sendable {
    public let outputPath: String
    private var pid: pid_t = 0

    public init(_ arguments: [String], waitForPort port: Int? = nil) throws {
        outputPath = NSTemporaryDirectory() + "cosocket-spawn-\(getpid())-\(UUID().uuidString)"
        pid = try Self.spawn(arguments, output: outputPath)
        if let port {
            for _ in 0..<500 {
                if canConnect(port: port) { break }
                usleep(10_000)
            }
        }
    }

    /// Runs `arguments` and waits for it; its exit status.
    @discardableResult
    public static func runToEnd(_ arguments: [String]) -> Int32 {
        guard let pid = try? spawn(arguments, output: "/dev/null") else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }

    private static func spawn(_ arguments: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { throw CocoaError(.executableLoad) }
        return pid
    }

    /// What the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
        unlink(outputPath)
    }

    deinit { stop() }
}

/// `openssl s_server` on a free loopback port with the given options (`-www`: each request
/// gets a page saying whether the session was `New` or `Reused`).
public final class OpenSSLServer: @unchecked Sendable {
    public let port: Int
    public let process: SpawnedProcess

    public init(_ options: [String]) throws {
        port = freePort()
        process = try SpawnedProcess(["/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:\(port)"] + options, waitForPort: port)
    }
}

/// A loopback listener that hands each accepted connection (a blocking descriptor) to
/// `handle` on a thread of its own, and closes it after.
public final class ScriptedListener: @unchecked Sendable {
    public let port: Int
    private let fd: Int32

    public init(_ handle: @escaping @Sendable (Int32) -> Void) {
        fd = Loopback.tcpSocket()
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        port = Loopback.bindToFreePort(fd)
        listen(fd, 64)
        let fd = self.fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread {
                    handle(client)
                    close(client)
                }
            }
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// Reads what arrives (up to 16 KiB) once.
    public static func readSome(_ fd: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let count = read(fd, &buffer, buffer.count)
        return count > 0 ? Array(buffer.prefix(count)) : []
    }

    public static func write(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Closes with a reset (SO_LINGER 0) instead of a FIN.
    public static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }
}

/// A TCP proxy in front of a TLS server that changes how the server's bytes reach the client:
/// one byte per TCP segment, or with the TLS alert records (close_notify) left out, so that
/// the server's close arrives as a bare FIN (use TLS 1.2, whose alerts keep their record type).
public final class TLSRecordProxy: @unchecked Sendable {
    public enum Mode: Sendable {
        case oneBytePerSegment
        case dropAlerts
    }

    public let listener: ScriptedListener
    public var port: Int { listener.port }

    public init(upstreamPort: Int, mode: Mode) {
        listener = ScriptedListener { client in
            let upstream = Loopback.tcpSocket()
            guard Loopback.connect(upstream, port: upstreamPort) else { return }
            defer { close(upstream) }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let toUpstream = Thread {
                var buffer = [UInt8](repeating: 0, count: 16384)
                while true {
                    let count = read(client, &buffer, buffer.count)
                    if count <= 0 { break }
                    ScriptedListener.write(upstream, Array(buffer.prefix(count)))
                }
                shutdown(upstream, Int32(SHUT_WR))
            }
            toUpstream.start()
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(upstream, &buffer, buffer.count)
                if count <= 0 { break }
                switch mode {
                case .oneBytePerSegment:
                    for byte in buffer.prefix(count) {
                        ScriptedListener.write(client, [byte])
                        usleep(20)
                    }
                case .dropAlerts:
                    pending += buffer.prefix(count)
                    while pending.count >= 5 {
                        let length = Int(pending[3]) << 8 | Int(pending[4])
                        guard pending.count >= 5 + length else { break }
                        let record = Array(pending.prefix(5 + length))
                        pending.removeFirst(5 + length)
                        if record[0] == 0x15 {
                            // The server's close_notify: the client gets a bare FIN instead.
                            shutdown(client, Int32(SHUT_WR))
                            usleep(200_000)
                            return
                        }
                        ScriptedListener.write(client, record)
                    }
                }
            }
            shutdown(client, Int32(SHUT_WR))
            usleep(200_000)
        }
    }
}
