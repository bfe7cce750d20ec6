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
}
