import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a cosocket operation failed.
///
/// Read failures carry the bytes that had arrived before the failure (`partial`), because
/// OpenResty code depends on them: `nil, "timeout", partial` lets a caller resume a line
/// protocol after a slow peer. ``message`` is the exact string lua-nginx-module returns,
/// which the Lua front-end hands to Lua code unchanged.
public enum CosocketError: Error, Sendable, Equatable {
    /// The operation's timer fired. For reads this is not fatal: the socket stays usable.
    case timeout(partial: ByteBuffer)
    /// The peer closed the connection (EOF), or the socket was closed or never connected.
    case closed(partial: ByteBuffer)
    /// A system call failed with `errno`; the socket is closed.
    case system(errno: Int32, partial: ByteBuffer)
    /// Another coroutine or task is already running an operation of this kind on the socket.
    case busy(SocketOperation)
    /// The host name could not be parsed (`failed to parse host name "...": ...`).
    case badHostName(host: String, reason: String)
    /// The resolver found no address for the host.
    case unresolved(host: String, code: Int, reason: String)
    /// No resolver is configured for a name that is neither a literal nor in the hosts file.
    case noResolver(host: String)
    /// A pooled connect found its backlog queue full.
    case tooManyWaitingConnects
    /// `setkeepalive` found unread bytes in the socket's receive buffer (the socket stays usable).
    case unreadData
    /// `setkeepalive` found the connection unfit for reuse (bytes pending in the kernel).
    case dubiousState
    /// The caller passed an argument the operation cannot accept (the text says which).
    case badArgument(String)
    /// The worker is shutting down.
    case shuttingDown
    /// The TLS handshake failed (`handshake failed`); `log` is the line nginx logs for why.
    case tlsHandshakeFailed(log: String)
    /// The peer's certificate did not verify: OpenSSL's verify code and text (`20: unable to
    /// get local issuer certificate`).
    case tlsVerifyFailed(code: Int, reason: String)
    /// A TLS record failed to decrypt or the TLS layer failed otherwise after the handshake
    /// (nginx's `SSL_read() failed`): `error`, with the bytes read before.
    case tlsFailure(partial: ByteBuffer)
    /// The peer's certificate does not name the server name asked for.
    case tlsHostMismatch(host: String)

    /// The reference implementation's error string for this failure.
    public var message: String {
        switch self {
        case .timeout: return "timeout"
        case .closed: return "closed"
        case .system(let code, _): return Self.describe(errno: code)
        case .busy(.datagram): return "socket busy"
        case .busy(let operation): return "socket busy \(operation.busyWord)"
        case .badHostName(let host, let reason): return "failed to parse host name \"\(host)\": \(reason)"
        case .unresolved(let host, let code, let reason): return "\(host) could not be resolved (\(code): \(reason))"
        case .noResolver(let host): return "no resolver defined to resolve \"\(host)\""
        case .tooManyWaitingConnects: return "too many waiting connect operations"
        case .unreadData: return "unread data in buffer"
        case .dubiousState: return "connection in dubious state"
        case .badArgument(let text): return text
        case .shuttingDown: return "worker shutting down"
        case .tlsFailure: return "error"
        case .tlsHandshakeFailed: return "handshake failed"
        case .tlsVerifyFailed(let code, let reason): return "\(code): \(reason)"
        case .tlsHostMismatch: return "certificate host mismatch"
        }
    }

    /// Bytes received before a read failed; empty for every other failure.
    public var partial: ByteBuffer {
        switch self {
        case .timeout(let partial), .closed(let partial), .system(_, let partial), .tlsFailure(let partial): return partial
        default: return ByteBuffer()
        }
    }

    /// Whether the failure leaves the socket usable. Only a read timeout does, as in the reference.
    public var isTimeout: Bool {
        if case .timeout = self { return true }
        return false
    }

    /// nginx words system errors with `strerror`, lower-cased (`connection refused`).
    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text).lowercased()
    }

    static let closedEmpty = CosocketError.closed(partial: ByteBuffer())
    static let timeoutEmpty = CosocketError.timeout(partial: ByteBuffer())

    /// Attaches `partial` to a read failure.
    func withPartial(_ partial: ByteBuffer) -> CosocketError {
        switch self {
        case .timeout: return .timeout(partial: partial)
        case .closed: return .closed(partial: partial)
        case .system(let code, _): return .system(errno: code, partial: partial)
        case .tlsFailure: return .tlsFailure(partial: partial)
        default: return self
        }
    }
}

extension CosocketError: CustomStringConvertible {
    public var description: String { message }
}

/// The kinds of operation a socket runs; at most one of each is in flight per socket.
/// (`datagram`: a datagram socket's one waiting operation, which the reference reports as a
/// bare `socket busy`.)
public enum SocketOperation: Sendable, Equatable {
    case connect, read, write, datagram

    var busyWord: String {
        switch self {
        case .connect: return "connecting"
        case .read: return "reading"
        case .write: return "writing"
        case .datagram: return ""
        }
    }
}
