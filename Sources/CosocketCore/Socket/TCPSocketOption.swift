import Glibc
import NIOCore

/// The options `tcpsock:setoption` accepts, with their reference names.
public enum TCPSocketOption: String, Sendable, CaseIterable {
    case keepalive
    case reuseaddr
    case tcpNoDelay = "tcp-nodelay"
    case sndbuf
    case rcvbuf

    var channelOption: ChannelOptions.Types.SocketOption {
        switch self {
        case .keepalive: return ChannelOptions.socketOption(.so_keepalive)
        case .reuseaddr: return ChannelOptions.socketOption(.so_reuseaddr)
        case .tcpNoDelay: return ChannelOptions.tcpOption(.tcp_nodelay)
        case .sndbuf: return ChannelOptions.socketOption(.so_sndbuf)
        case .rcvbuf: return ChannelOptions.socketOption(.so_rcvbuf)
        }
    }

    /// The `setsockopt` level and name, for a descriptor of our own.
    var levelAndName: (level: CInt, name: CInt) {
        switch self {
        case .keepalive: return (SOL_SOCKET, SO_KEEPALIVE)
        case .reuseaddr: return (SOL_SOCKET, SO_REUSEADDR)
        case .tcpNoDelay: return (CInt(IPPROTO_TCP), TCP_NODELAY)
        case .sndbuf: return (SOL_SOCKET, SO_SNDBUF)
        case .rcvbuf: return (SOL_SOCKET, SO_RCVBUF)
        }
    }
}
