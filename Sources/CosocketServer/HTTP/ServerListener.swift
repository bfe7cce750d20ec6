import CosocketCore
import NIOCore
import NIOPosix

/// One worker's listening socket for one address. Closed from the server's control thread.
protocol ServerListener {
    /// The port bound (useful for port 0).
    var port: Int? { get }
    func close()
}

/// Opens `address` on `loop` for the worker in `slot`: a listener on the loop's readiness set
/// when it has one (clients then use descriptors of the worker's own), else a NIO server
/// channel. A unix-domain socket is bound once: the first worker's listener (`sharing`) is
/// shared by the others; the NIO fallback listens on it from the first worker only.
func makeListener(
    _ address: ListenAddress,
    backlog: Int32,
    on loop: EventLoop,
    group: CosocketEventLoopGroup,
    sharing first: (any ServerListener)?,
    slot: @escaping @Sendable () -> ServerWorker?
) throws -> (any ServerListener)? {
    #if os(Linux)
    if group.hasReadinessSet(loop) {
        return try DescriptorServerListener(address, backlog: backlog, on: loop, sharing: first as? DescriptorServerListener, worker: slot)
    }
    #endif
    if address.unixPath != nil, first != nil { return nil }
    let bootstrap = ServerBootstrap(group: loop)
        .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        .serverChannelOption(ChannelOptions.backlog, value: backlog)
    return ChannelServerListener(
        channel: try bootstrap
            .serverChannelOption(
                ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)),
                value: address.unixPath == nil ? 1 : 0
            )
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // HTTPS runs on the readiness set's descriptors only: without one, a
                    // `listen ... ssl` address refuses its clients rather than speak plain HTTP.
                    guard let worker = slot(), let router = worker.routers[address], worker.configuration.tls[address] == nil else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    let transport = ChannelClientTransport(engine: worker.lua.engine)
                    let connection = HTTPConnection(transport: transport, worker: worker, router: router, serverPort: address.port, listenHost: address.host)
                    transport.connection = connection
                    // Adding the handler opens the connection, which the worker then keeps.
                    try channel.pipeline.syncOperations.addHandler(transport)
                }
            }
            .bind(to: try address.socketAddress())
            .wait()
    )
}

extension ListenAddress {
    func socketAddress() throws -> SocketAddress {
        if let path = unixPath { return try SocketAddress(unixDomainSocketPath: path) }
        return try SocketAddress.makeAddressResolvingHost(host, port: port)
    }
}

enum ServerListenerDefaults {
    /// nginx's default `listen ... backlog=` on Linux.
    static let backlog: Int32 = 511
    /// A client connection's reads: an idle keep-alive connection keeps a buffer of this size
    /// (nginx's `client_header_buffer_size` is 1k, its large header buffers 8k).
    static let readSize = 4096
}

private struct ChannelServerListener: ServerListener {
    let channel: Channel
    var port: Int? { channel.localAddress?.port }
    func close() { try? channel.close().wait() }
}

#if os(Linux)
/// A ``DescriptorListener`` on the worker's loop.
private struct DescriptorServerListener: ServerListener {
    let listener: DescriptorListener
    let loop: EventLoop

    init(
        _ address: ListenAddress,
        backlog: Int32,
        on loop: EventLoop,
        sharing first: DescriptorServerListener?,
        worker slot: @escaping @Sendable () -> ServerWorker?
    ) throws {
        let listener: DescriptorListener
        if address.unixPath != nil, let first {
            listener = try DescriptorListener(sharing: first.listener)
        } else {
            listener = try DescriptorListener(address: try address.socketAddress(), backlog: backlog)
        }
        let started = try loop.submit { () -> Bool in
            listener.start(on: CosocketEngine.forEventLoop(loop), readSize: ServerListenerDefaults.readSize) { stream in
                guard let worker = slot(), let router = worker.routers[address] else {
                    stream.close()
                    return
                }
                let connection = HTTPConnection(transport: stream, worker: worker, router: router, serverPort: address.port, listenHost: address.host)
                stream.delegate = connection
                connection.opened()
                if let tls = worker.configuration.tls[address], !stream.isClosed {
                    // HTTPS: the handshake first; the connection's bytes arrive once it is done.
                    // A client that never finishes it is closed by the idle sweep, as one that
                    // never sends a request.
                    _ = stream.startTLS(TLSServerHandshake(context: tls.defaultContext, hooks: worker.tlsHookRunner(for: address, tls)) {
                        tls.context(forServerName: $0)
                    })
                }
            }
        }.wait()
        guard started else {
            listener.close()
            throw CosocketError.system(errno: EINVAL, partial: ByteBuffer())
        }
        self.listener = listener
        self.loop = loop
    }

    var port: Int? { listener.port }

    func close() {
        let listener = self.listener
        try? loop.submit { listener.close() }.wait()
    }
}
#endif
