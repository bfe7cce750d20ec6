#if os(Linux)
import CEventPoll
import Glibc
import NIOCore

/// A listening socket on the engine's readiness set: what the HTTP host accepts its clients
/// with, one per worker (`SO_REUSEPORT` lets the kernel spread connections over them), as
/// nginx workers do. Accepted connections are ``AcceptedStream``s on the descriptor transport,
/// so a client costs the same few system calls as an upstream connection.
public final class DescriptorListener: ReadinessHandler, @unchecked Sendable {
    private var descriptor: CInt
    private var registration: UInt64 = 0
    private var poller: DescriptorPoller?
    private var onAccept: ((AcceptedStream) -> Void)?
    private var readSize = 4096
    private var retryScheduled = false
    /// The port actually bound (for port 0).
    public let port: Int

    /// Binds and listens (on any thread); accepting starts with ``start(on:accept:)``.
    public init(address: SocketAddress, backlog: CInt) throws(CosocketError) {
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        case .unixDomainSocket: family = AF_UNIX
        }
        let descriptor = socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(errno: errno, partial: ByteBuffer()) }
        var on: CInt = 1
        if family != AF_UNIX {
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<CInt>.size))
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<CInt>.size))
        }
        let bound = address.withSockAddr { pointer, length in bind(descriptor, pointer, socklen_t(length)) }
        guard bound == 0, listen(descriptor, backlog) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw .system(errno: code, partial: ByteBuffer())
        }
        self.descriptor = descriptor
        self.port = Self.localPort(of: descriptor) ?? address.port ?? 0
    }

    /// Another listener on the same listening socket (a duplicate of its descriptor): how
    /// workers share a unix-domain socket, which `SO_REUSEPORT` cannot spread. Each worker's
    /// readiness set then wakes for a new connection and one of them accepts it, as nginx
    /// workers share their listening sockets.
    public init(sharing other: DescriptorListener) throws(CosocketError) {
        let descriptor = fcntl(other.descriptor, F_DUPFD_CLOEXEC, 0)
        guard descriptor >= 0 else { throw .system(errno: errno, partial: ByteBuffer()) }
        self.descriptor = descriptor
        self.port = other.port
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// Starts accepting on `engine`'s loop (call it there); `accept` receives each new
    /// connection, which has no delegate yet and reads `readSize` bytes at a time. `false`
    /// when the loop has no readiness set. Only the loop's readiness set is kept, not the
    /// engine (which a reload replaces).
    public func start(on engine: CosocketEngine, readSize: Int, accept: @escaping (AcceptedStream) -> Void) -> Bool {
        guard let poller = engine.poller, descriptor >= 0 else { return false }
        let events = UInt32(COSOCKET_EPOLLIN) | COSOCKET_EPOLLET
        guard case .success(let token) = poller.register(descriptor, for: self, events: events, afterUpstream: true) else {
            return false
        }
        self.registration = token
        self.poller = poller
        self.readSize = readSize
        self.onAccept = accept
        // Connections may have queued before the registration: no edge would announce them.
        acceptPending()
        return true
    }

    /// Stops listening (on the loop); connections already accepted go on.
    public func close() {
        guard descriptor >= 0 else { return }
        poller?.deregister(registration)
        Glibc.close(descriptor)
        descriptor = -1
        onAccept = nil
    }

    func descriptorReady(_ events: UInt32) {
        acceptPending()
    }

    /// Accepts until the queue is empty, as the edge-triggered registration requires.
    private func acceptPending() {
        guard let poller else { return }
        var peer = sockaddr_storage()
        while descriptor >= 0 {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = withUnsafeMutablePointer(to: &peer) { cosocket_accept(descriptor, $0, &length) }
            if accepted < 0 {
                switch errno {
                case EAGAIN:
                    return
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: nginx stops accepting for a while; try again shortly
                    // (the queue keeps the connections, and no new edge would come for them).
                    guard !retryScheduled else { return }
                    retryScheduled = true
                    poller.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .milliseconds(100)) {
                        self.retryScheduled = false
                        self.acceptPending()
                    }
                    poller.noteLoopWork()
                    return
                case EINTR, ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
                    ENETUNREACH, EPERM:
                    // The network errors accept(2) passes on from one new connection: the next
                    // may be fine, and with edge-triggered readiness nothing else would ask.
                    continue
                default:
                    return
                }
            }
            var on: CInt = 1
            _ = setsockopt(accepted, CInt(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<CInt>.size))
            let connection = StreamConnection(poolKey: "", readSize: readSize, poller: poller)
            connection.isDownstream = true
            guard connection.adopt(accepted, connecting: false) == nil else { continue }
            onAccept?(AcceptedStream(connection: connection, remoteAddress: Self.address(peer)))
        }
    }

    private static func address(_ storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        return withUnsafeBytes(of: &storage) { raw -> SocketAddress? in
            switch CInt(raw.load(as: sa_family_t.self)) {
            case AF_INET: return SocketAddress(raw.load(as: sockaddr_in.self))
            case AF_INET6: return SocketAddress(raw.load(as: sockaddr_in6.self))
            case AF_UNIX: return SocketAddress(raw.load(as: sockaddr_un.self))
            default: return nil
            }
        }
    }

    private static func localPort(of descriptor: CInt) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { return nil }
        return withUnsafeBytes(of: storage) { raw -> Int? in
            let family = raw.load(as: sa_family_t.self)
            guard family == sa_family_t(AF_INET) || family == sa_family_t(AF_INET6) else { return nil }
            // sin_port and sin6_port sit at the same offset, in network order.
            return Int(UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self)))
        }
    }
}
#endif
