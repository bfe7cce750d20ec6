#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// A non-blocking connect on a descriptor of our own, as `ngx_event_connect_peer` does it.
///
/// A loopback or unix-domain peer completes the TCP handshake within the `connect` system call
/// (the kernel runs the peer's side as the SYN is sent), so the socket is writable, or has its
/// error, by the time `connect` returns `EINPROGRESS`; `poll(0)` sees which. Such a connect is
/// finished inside the call. Any other peer (or a local one that has not answered yet: a full
/// accept queue, a busy machine) is left in progress, for the event loop to report.
enum NonBlockingConnect {
    enum Outcome {
        /// Connected: the caller owns the descriptor. `afterInProgress`: `connect` said
        /// `EINPROGRESS` first, where nginx would have waited for the event loop.
        case connected(CInt, afterInProgress: Bool)
        /// The kernel refused (`ECONNREFUSED`, `ENOENT` for a unix path, `EAGAIN` for a full
        /// unix backlog, `EADDRINUSE` from a bind, ...), at once or (`afterInProgress`) through
        /// the handshake. No descriptor is left open.
        case failed(errno: CInt, afterInProgress: Bool)
        /// The handshake goes on: the descriptor (the caller's) becomes writable when it ends,
        /// and `SO_ERROR` then tells how.
        case inProgress(CInt)
    }

    /// Whether `address` is one whose connect can finish inside the call.
    static func isLocal(_ address: SocketAddress) -> Bool {
        switch address {
        case .unixDomainSocket: return true
        case .v4(let v4): return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address.sin6_addr) { bytes in
                bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
            }
        }
    }

    /// Opens a non-blocking socket, binds it to `source` if given, and connects it to `address`.
    static func start(_ address: SocketAddress, from source: SocketAddress? = nil) -> Outcome {
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        case .unixDomainSocket: family = AF_UNIX
        }
        #if os(Linux)
        let descriptor = socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        if descriptor >= 0 { _ = fcntl(descriptor, F_SETFL, O_NONBLOCK) }
        #endif
        guard descriptor >= 0 else { return .failed(errno: errno, afterInProgress: false) }
        if family != AF_UNIX {
            // What NIO's bootstrap sets, and the reference from the first send on.
            var on: CInt = 1
            _ = setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<CInt>.size))
        }
        if let source {
            let bound = source.withSockAddr { pointer, length in bind(descriptor, pointer, socklen_t(length)) }
            if bound != 0 { return fail(descriptor, errno: errno, afterInProgress: false) }
        }
        let result = address.withSockAddr { pointer, length in
            connect(descriptor, pointer, socklen_t(length))
        }
        if result == 0 { return .connected(descriptor, afterInProgress: false) }
        let code = errno
        switch code {
        case EINPROGRESS:
            guard isLocal(address) else { return .inProgress(descriptor) }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            guard poll(&poller, 1, 0) == 1 else { return .inProgress(descriptor) }
            let socketError = pendingError(descriptor)
            if socketError == 0 { return .connected(descriptor, afterInProgress: true) }
            return fail(descriptor, errno: socketError, afterInProgress: true)
        case EINTR:
            // The connect goes on in the kernel.
            return .inProgress(descriptor)
        default:
            // Including EAGAIN (a unix listener's full backlog), which nginx fails at once too.
            return fail(descriptor, errno: code, afterInProgress: false)
        }
    }

    /// The error a finished handshake left on `descriptor` (`SO_ERROR`), 0 when it connected.
    static func pendingError(_ descriptor: CInt) -> CInt {
        var socketError: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 else { return errno }
        return socketError
    }

    private static func fail(_ descriptor: CInt, errno code: CInt, afterInProgress: Bool) -> Outcome {
        close(descriptor)
        return .failed(errno: code, afterInProgress: afterInProgress)
    }
}
