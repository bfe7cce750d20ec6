#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A connect that finishes inside the call, without the event loop.
///
/// A loopback or unix-domain peer completes the TCP handshake within the `connect` system call
/// (the kernel runs the peer's side as the SYN is sent), so the socket is writable, or has its
/// error, by the time `connect` returns `EINPROGRESS`. Opening such a connection through
/// `ClientBootstrap.connect` costs a promise chain, a connect-timeout task and a second address
/// lookup; a descriptor connected here is handed to NIO already connected instead. Only local
/// peers are tried: for a remote one the attempt would only waste a SYN. A local peer that has
/// not answered yet (a full accept queue, a busy machine) is left to the bootstrap.
enum ImmediateConnect {
    enum Outcome {
        /// Connected: the caller owns the descriptor. `afterInProgress`: `connect` said
        /// `EINPROGRESS` first, where nginx would have waited for the event loop.
        case connected(CInt, afterInProgress: Bool)
        /// The kernel refused (`ECONNREFUSED`, `ENOENT` for a unix path, `EAGAIN` for a full
        /// unix backlog, ...), at once or (`afterInProgress`) through the handshake.
        case failed(errno: CInt, afterInProgress: Bool)
        /// Not finished within the call: connect through the event loop instead.
        case notImmediate
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

    static func attempt(_ address: SocketAddress) -> Outcome {
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
        guard descriptor >= 0 else { return .notImmediate }
        if family != AF_UNIX {
            // What NIO's bootstrap sets, and the reference from the first send on.
            var on: CInt = 1
            _ = setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<CInt>.size))
        }
        let result = address.withSockAddr { pointer, length in
            connect(descriptor, pointer, socklen_t(length))
        }
        if result == 0 { return .connected(descriptor, afterInProgress: false) }
        let code = errno
        switch code {
        case EINPROGRESS:
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            if poll(&poller, 1, 0) == 1 {
                var socketError: CInt = 0
                var length = socklen_t(MemoryLayout<CInt>.size)
                if getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length) == 0 {
                    if socketError == 0 { return .connected(descriptor, afterInProgress: true) }
                    close(descriptor)
                    return .failed(errno: socketError, afterInProgress: true)
                }
            }
            close(descriptor)
            return .notImmediate
        case EINTR:
            // The connect goes on in the kernel; the bootstrap starts over.
            close(descriptor)
            return .notImmediate
        default:
            // Including EAGAIN (a unix listener's full backlog), which nginx fails at once too.
            close(descriptor)
            return .failed(errno: code, afterInProgress: false)
        }
    }
}
