import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP (or unix-domain) listener on a background thread whose connections are
/// handled by a plain blocking function: the simplest way to script a misbehaving peer.
public final class TestListener: @unchecked Sendable {
    public let port: Int
    public let path: String?
    private let fd: Int32
    private let handler: @Sendable (Int32) -> Void
    private let lock = NSLock()
    private var accepted: [Int32] = []
    private var stopped = false
    /// With an accept thread, that thread closes the descriptor when it leaves: closed
    /// earlier, its number could be reused (by a socket the test opens next) before the
    /// thread calls `accept` on it, and that socket's connections would be stolen.
    private let acceptThreadClosesDescriptor: Bool

    /// - Parameters:
    ///   - host, port: where a TCP listener listens: a free port of 127.0.0.1 unless told (a
    ///     test of a name with several loopback addresses puts its listeners on one port).
    ///   - backlog: the listen queue length; `acceptConnections: false` leaves it to fill up.
    ///   - handler: runs on its own thread per connection; the fd is closed after it returns.
    public init(
        unixPath: String? = nil, host: String = "127.0.0.1", port requested: Int = 0, backlog: Int32 = 64, acceptConnections: Bool = true,
        handler: @escaping @Sendable (Int32) -> Void
    ) {
        self.handler = handler
        self.path = unixPath
        let fd: Int32
        let port: Int
        if let unixPath {
            unlink(unixPath)
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in unixPath.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            port = 0
        } else {
            fd = Loopback.tcpSocket()
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            port = Loopback.bindToFreePort(fd, host: host, port: requested)
        }
        self.fd = fd
        self.port = port
        acceptThreadClosesDescriptor = acceptConnections
        listen(fd, backlog)
        if acceptConnections {
            let thread = Thread { [self] in acceptLoop() }
            thread.start()
        }
    }

    private func acceptLoop() {
        defer { close(fd) }
        while true {
            let client = accept(fd, nil, nil)
            // A signal (another test's child process ending) interrupts accept: go on, or the
            // connections behind it wait in the backlog until their client times out.
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            if stopped {
                lock.unlock()
                close(client)
                return
            }
            accepted.append(client)
            lock.unlock()
            let handler = self.handler
            Thread {
                handler(client)
                close(client)
            }.start()
        }
    }

    /// Idempotent: a second `close` of the same number could close a descriptor that another
    /// thread (an event loop) has been given since.
    public func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        guard !wasStopped else { return }
        // Wakes the accept thread (accept fails on a shut-down listener), which then closes.
        shutdown(fd, Int32(SHUT_RDWR))
        if !acceptThreadClosesDescriptor { close(fd) }
        if let path { unlink(path) }
    }

    deinit { stop() }
}

/// Blocking helpers for handlers.
public enum Peer {
    public static func send(_ fd: Int32, _ text: String) {
        send(fd, Array(text.utf8))
    }

    public static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads until `count` bytes arrived or the peer closed.
    public static func receive(_ fd: Int32, count: Int) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let got = recv(fd, &chunk, min(chunk.count, count - result.count), 0)
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { break }
            result.append(contentsOf: chunk[0..<got])
        }
        return result
    }

    /// Reads one LF-terminated line (without the LF), or what arrived before EOF.
    public static func receiveLine(_ fd: Int32) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let got = recv(fd, &byte, 1, 0)
            if got < 0 && errno == EINTR { continue }
            guard got == 1 else { break }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }

    public static func echo(_ fd: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = recv(fd, &chunk, chunk.count, 0)
            if got <= 0 { return }
            send(fd, Array(chunk[0..<got]))
        }
    }

    /// Closes with RST instead of FIN.
    public static func reset(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

    /// Waits, without reading, until the client closes (or `milliseconds` pass).
    public static func waitForClientClose(_ fd: Int32, milliseconds: Int32 = 30_000) {
        var descriptor = pollfd(fd: fd, events: Int16(0x2000), revents: 0)  // POLLRDHUP
        // A signal (a child process of another test ending) interrupts poll: wait on, or the
        // peer closes early and a client sees "broken pipe" where a test expects its timeout.
        var left = Int64(milliseconds)
        while left > 0 {
            let started = DispatchTime.now().uptimeNanoseconds
            if poll(&descriptor, 1, Int32(left)) >= 0 || errno != EINTR { return }
            left -= Int64((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        }
    }

    public static func sleep(milliseconds: Int) {
        usleep(useconds_t(milliseconds * 1000))
    }

    /// The address the peer connected from.
    public static func remoteAddress(_ fd: Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        return String(cString: inet_ntoa(address.sin_addr))
    }
}
