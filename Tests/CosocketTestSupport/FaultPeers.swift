import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The misbehaving upstreams of the fault-injection tables (`UpstreamFaultTests` through Lua,
/// `SwiftFaultTests` through the Swift API): each case is one way a peer can fail an upstream
/// client, started on a port of its own so that rows running in parallel count only their own
/// sockets (see ``SocketCensus``).
public enum Fault: String, CaseIterable, Sendable {
    /// Answers each line with the same line: the healthy peer of the pool rows.
    case echo
    /// Sends "hello wor" (no line end) and closes: mid-line and mid-size-read EOF.
    case closeMidLine
    /// Sends "partial", then 100 ms later resets the connection (SO_LINGER 0).
    case reset
    /// Reads and discards everything, never answers, keeps the connection open.
    case mute
    /// Never reads, with a 4 KiB receive buffer: the client's sends fill up and time out.
    case noRead
    /// Never accepts; its one-slot accept queue is filled by ``FaultPeer/fillers``: connects hang.
    case fullBacklog
    /// Nothing listens (a bound, not listening socket): connects are refused.
    case refused
    /// Sends "hello\n", then shuts its write side (FIN) and goes on reading; what it read
    /// after that is in ``FaultPeer/received``.
    case halfClose
    /// Sends 100 MiB ("0123456789" repeated, no line end) and closes.
    case flood
    /// An echo peer that closes a connection idle for 1 s: a pooled connection dies idle.
    case idleCloser
    /// UDP: reads datagrams, never answers.
    case udpMute
    /// UDP: nothing bound to the port: the kernel answers ICMP port unreachable.
    case udpRefused
    /// UDP: answers each datagram with one of 65,507 bytes (the largest IPv4 one).
    case udpFlood

    public static let floodSize = 100 * 1024 * 1024

    public var isUDP: Bool { self == .udpMute || self == .udpRefused || self == .udpFlood }
}

/// One started ``Fault`` peer on a free loopback port.
public final class FaultPeer: @unchecked Sendable {
    public let fault: Fault
    public let port: Int
    private var listener: TestListener?
    private var refusing: RefusingPort?
    private var datagram: DatagramTestPeer?
    /// Client sockets that fill the accept queue of a `fullBacklog` peer.
    public private(set) var fillers: [Int32] = []
    private let lock = NSLock()
    private var receivedBytes: [UInt8] = []

    /// What a `halfClose` peer read after shutting its write side.
    public var received: String { lock.withLock { String(decoding: receivedBytes, as: UTF8.self) } }

    public init(_ fault: Fault) {
        self.fault = fault
        // The handlers record into the peer, which exists only once every property is set.
        let box = Unchecked<FaultPeer>(nil)
        defer { box.value = self }
        switch fault {
        case .refused:
            let port = RefusingPort()
            refusing = port
            self.port = port.port
        case .udpMute:
            let peer = DatagramTestPeer(mute: true)
            datagram = peer
            port = peer.port
        case .udpFlood:
            let peer = DatagramTestPeer { _ in [UInt8](repeating: UInt8(ascii: "u"), count: 65_507) }
            datagram = peer
            port = peer.port
        case .udpRefused:
            // A port found free and let go: nothing is bound to it, so the kernel refuses.
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            port = Loopback.bindToFreePort(fd)
            close(fd)
        case .fullBacklog:
            let listener = TestListener(backlog: 0, acceptConnections: false) { _ in }
            self.listener = listener
            port = listener.port
            // Backlog 0 still queues one connection (Linux keeps backlog + 1); a few more
            // non-blocking connects make sure the queue is full and later SYNs are dropped.
            for _ in 0..<3 {
                let fd = Loopback.tcpSocket()
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = Loopback.connect(fd, port: listener.port)
                fillers.append(fd)
            }
            usleep(50_000)
        default:
            let listener = TestListener { [fault] fd in
                FaultPeer.serve(fault, fd) { bytes in box.value?.record(bytes) }
            }
            self.listener = listener
            port = listener.port
        }
    }

    private func record(_ bytes: [UInt8]) { lock.withLock { receivedBytes += bytes } }

    public func stop() {
        listener?.stop()
        datagram?.stop()
        for fd in fillers { close(fd) }
        fillers = []
        refusing = nil
    }

    deinit { stop() }

    private static func serve(_ fault: Fault, _ fd: Int32, record: ([UInt8]) -> Void) {
        switch fault {
        case .echo:
            Peer.echo(fd)
        case .closeMidLine:
            Peer.send(fd, "hello wor")
        case .reset:
            Peer.send(fd, "partial")
            Peer.sleep(milliseconds: 100)
            Peer.reset(fd)
        case .mute:
            var chunk = [UInt8](repeating: 0, count: 65536)
            while recv(fd, &chunk, chunk.count, 0) > 0 {}
        case .noRead:
            var size: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            Peer.waitForClientClose(fd, milliseconds: 20_000)
        case .halfClose:
            Peer.send(fd, "hello\n")
            shutdown(fd, Int32(SHUT_WR))
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let got = recv(fd, &chunk, chunk.count, 0)
                if got <= 0 { break }
                record(Array(chunk[0..<got]))
            }
        case .flood:
            let piece = [UInt8](String(repeating: "0123456789", count: 104_858).utf8.prefix(1024 * 1024))
            for _ in 0..<(Fault.floodSize / piece.count) {
                let sent = piece.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }  // the client closed: stop at once
                if sent < piece.count { Peer.send(fd, Array(piece[sent...])) }
            }
        case .idleCloser:
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 2500) > 0 else { return }  // idle 2.5 s: close
                let got = recv(fd, &chunk, chunk.count, 0)
                if got <= 0 { return }
                Peer.send(fd, Array(chunk[0..<got]))
            }
        case .refused, .fullBacklog, .udpMute, .udpRefused, .udpFlood:
            return
        }
    }
}

/// A reference that can be filled in after `init` captured it.
private final class Unchecked<T: AnyObject>: @unchecked Sendable {
    weak var value: T?
    init(_ value: T?) { self.value = value }
}

/// Counts a process's descriptors that are sockets connected to one loopback port: the
/// client side of a fault peer's connections. Counting every descriptor of the process would
/// be noise while other tests run in parallel; a peer's port belongs to one row.
public enum SocketCensus {
    /// Sockets of process `pid` (this process when nil) whose remote port is `port`.
    public static func count(remotePort port: Int, udp: Bool = false, pid: Int32? = nil) -> Int {
        let tables = udp ? ["/proc/net/udp", "/proc/net/udp6"] : ["/proc/net/tcp", "/proc/net/tcp6"]
        var inodes = Set<String>()
        let hex = String(port, radix: 16, uppercase: true)
        let suffix = ":" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        for table in tables {
            // Read to EOF: /proc files report a size of 0, which readers that trust stat stop at.
            guard let handle = FileHandle(forReadingAtPath: table) else { continue }
            let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, fields[2].hasSuffix(suffix), fields[9] != "0" else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        guard !inodes.isEmpty else { return 0 }
        let directory = "/proc/\(pid.map(String.init) ?? "self")/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var found = 0
        var buffer = [CChar](repeating: 0, count: 256)
        for entry in entries {
            let length = readlink(directory + "/" + entry, &buffer, buffer.count - 1)
            guard length > 0 else { continue }
            let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard target.hasPrefix("socket:[") else { continue }
            if inodes.contains(String(target.dropFirst(8).dropLast())) { found += 1 }
        }
        return found
    }
}
