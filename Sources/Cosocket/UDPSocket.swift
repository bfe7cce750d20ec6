import CosocketCore
import NIOCore
import NIOPosix

/// A UDP or unix-domain datagram cosocket for Swift code: OpenResty's `ngx.socket.udp` with
/// async/await, on the same engine (loop, timers, resolver) as ``TCPSocket``.
///
/// `setPeer` associates the socket with one peer; `send` sends one datagram; `receive` returns
/// the next datagram from that peer. One `receive` (or a `setPeer` waiting for the resolver)
/// may be in flight; anything else meanwhile fails with `CosocketError.busy(.datagram)`. No
/// error is fatal: after a `.timeout` or a `.system` error (ICMP port unreachable shows up as
/// `ECONNREFUSED` on the next receive or send) the socket stays usable.
///
/// ```swift
/// let socket = UDPSocket()
/// try await socket.setPeer(host: "127.0.0.1", port: 11211)
/// try await socket.send(query)
/// let reply = try await socket.receive()
/// ```
public final class UDPSocket: @unchecked Sendable {
    public let eventLoop: EventLoop
    let socket: DatagramSocket

    private var connectContinuation: UnsafeContinuation<Result<Void, CosocketError>, Never>?
    private var receiveContinuation: UnsafeContinuation<Result<ByteBuffer, CosocketError>, Never>?

    /// Creates a socket on `eventLoop` (default: one of NIO's shared singleton loops).
    public init(eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.eventLoop = eventLoop
        self.socket = DatagramSocket(engine: CosocketEngine.forEventLoop(eventLoop))
        self.socket.delegate = self
    }

    /// Creates a socket on an explicit engine (a server's worker).
    public init(engine: CosocketEngine) {
        self.eventLoop = engine.eventLoop
        self.socket = DatagramSocket(engine: engine)
        self.socket.delegate = self
    }

    deinit {
        let socket = self.socket
        if eventLoop.inEventLoop { socket.abort() } else { eventLoop.execute { socket.abort() } }
    }

    /// Associates the socket with `host:port` (`setpeername`); a name is resolved by the
    /// engine's resolver. A current association is closed first.
    public func setPeer(host: String, port: Int) async throws(CosocketError) {
        guard (0...65535).contains(port) else { throw .badArgument("bad port number: \(port)") }
        try await setPeer(.host(host, port: port))
    }

    /// Associates the socket with a datagram unix-domain socket.
    public func setPeer(unixPath: String) async throws(CosocketError) {
        try await setPeer(.unix(path: unixPath))
    }

    public func setPeer(_ target: ConnectTarget) async throws(CosocketError) {
        let result: Result<Void, CosocketError> = await LoopHop.start(
            on: eventLoop, socket, immediate: { $0.connect(to: target) }, park: { self.connectContinuation = $0 }
        )
        try result.get()
    }

    /// Binds the local address of the next association (`udpsock:bind`).
    public func bind(host: String) async throws(CosocketError) {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: host, port: 0)
        } catch {
            throw .badArgument("bad address")
        }
        await LoopHop.run(on: eventLoop, socket) { $0.bind(to: address) }
    }

    /// Sends `data` as one datagram.
    public func send(_ data: ByteBuffer) async throws(CosocketError) {
        try await LoopHop.run(on: eventLoop, socket) { $0.send(data) }.get()
    }

    public func send(_ string: String) async throws(CosocketError) {
        try await send(ByteBuffer(string: string))
    }

    /// The next datagram, truncated to `maximum` bytes (at most 65536, the reference's buffer).
    public func receive(maximum: Int = DatagramSocketState.maximumDatagramSize) async throws(CosocketError) -> ByteBuffer {
        let size = DatagramSocketState.receiveSize(Double(maximum))
        return try await LoopHop.start(
            on: eventLoop, socket, immediate: { $0.receive(maximum: size) }, park: { self.receiveContinuation = $0 }
        ).get()
    }

    /// The read timeout; `nil` keeps the engine's default (`lua_socket_read_timeout`).
    public func setTimeout(_ timeout: TimeAmount?) async {
        await LoopHop.run(on: eventLoop, socket) { $0.readTimeout = timeout }
    }

    /// Ends the association.
    public func close() async throws(CosocketError) {
        try await LoopHop.run(on: eventLoop, socket) { $0.close() }.get()
    }
}

extension UDPSocket: DatagramSocketDelegate {
    public func datagramSocketDidConnect(_ socket: DatagramSocket, result: Result<Void, CosocketError>) {
        let continuation = connectContinuation
        connectContinuation = nil
        continuation?.resume(returning: result)
    }

    public func datagramSocketDidReceive(_ socket: DatagramSocket, result: Result<ByteBuffer, CosocketError>) {
        let continuation = receiveContinuation
        receiveContinuation = nil
        continuation?.resume(returning: result)
    }
}
