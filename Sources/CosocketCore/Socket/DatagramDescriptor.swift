#if os(Linux)
import CEventPoll
import Glibc
import NIOCore

/// A datagram socket's own descriptor on the loop's readiness set, as nginx's
/// `ngx_http_lua_udp_connect` opens one: non-blocking, connected to the peer (so the kernel
/// filters other sources and reports ICMP errors to this socket), registered once for input,
/// edge-triggered. Reads and writes are plain `recv`/`send` calls made when Lua asks; epoll
/// is only consulted when a `recv` found nothing.
final class DatagramDescriptor: DatagramTransport, ReadinessHandler {
    private var descriptor: CInt
    private let poller: DescriptorPoller
    private var registration: UInt64 = 0
    private var scratch = ByteBuffer()
    /// Not retained: the socket closes its transport before it goes away.
    private var socket: DatagramSocket? {
        get {
            socketCheck.verify()
            return uncheckedSocket
        }
        set {
            uncheckedSocket = newValue
            socketCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedSocket: DatagramSocket?
    /// Debug builds: asserts that the object is alive whenever `socket` is read.
    private var socketCheck = UnownedReferenceCheck()

    private init(descriptor: CInt, poller: DescriptorPoller, socket: DatagramSocket) {
        self.descriptor = descriptor
        self.poller = poller
        self.socket = socket
    }

    deinit { close() }

    /// Opens, binds (to `source`, or for a unix peer to an autobound abstract name, so that the
    /// peer can answer), connects and registers a descriptor.
    static func open(
        _ address: SocketAddress, from source: SocketAddress?, poller: DescriptorPoller, socket: DatagramSocket
    ) -> Result<DatagramDescriptor, CosocketError> {
        let family: CInt
        switch address {
        case .v4: family = AF_INET
        case .v6: family = AF_INET6
        case .unixDomainSocket: family = AF_UNIX
        }
        let descriptor = Glibc.socket(family, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .failure(.system(errno: errno, partial: ByteBuffer())) }
        func fail(_ code: CInt) -> Result<DatagramDescriptor, CosocketError> {
            Glibc.close(descriptor)
            return .failure(.system(errno: code, partial: ByteBuffer()))
        }
        if let source {
            let bound = source.withSockAddr { pointer, length in Glibc.bind(descriptor, pointer, socklen_t(length)) }
            if bound != 0 { return fail(errno) }
        } else if family == AF_UNIX {
            // Autobind: an address of just the family makes the kernel pick an abstract name.
            var local = sockaddr_un()
            local.sun_family = sa_family_t(AF_UNIX)
            let bound = withUnsafePointer(to: &local) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sa_family_t>.size))
                }
            }
            if bound != 0 { return fail(errno) }
        }
        let connected = address.withSockAddr { pointer, length in Glibc.connect(descriptor, pointer, socklen_t(length)) }
        if connected != 0 { return fail(errno) }
        let transport = DatagramDescriptor(descriptor: descriptor, poller: poller, socket: socket)
        let events = UInt32(COSOCKET_EPOLLIN) | COSOCKET_EPOLLET
        switch poller.register(descriptor, for: transport, events: events) {
        case .success(let token):
            transport.registration = token
            return .success(transport)
        case .failure(let error):
            transport.socket = nil
            transport.close()
            return .failure(error)
        }
    }

    func descriptorReady(_ events: UInt32) {
        socket?.transportReadable()
    }

    func send(_ data: ByteBuffer) -> Result<Void, CosocketError> {
        guard descriptor >= 0 else { return .failure(.closed(partial: ByteBuffer())) }
        while true {
            let sent = data.withUnsafeReadableBytes { bytes in
                Glibc.send(descriptor, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL))
            }
            if sent >= 0 { return .success(()) }
            let code = errno
            if code == EINTR { continue }
            return .failure(.system(errno: code, partial: ByteBuffer()))
        }
    }

    func receive(maximum: Int) -> Result<ByteBuffer, CosocketError>? {
        guard descriptor >= 0 else { return .failure(.closed(partial: ByteBuffer())) }
        // One buffer for every receive: the datagram handed out shares its storage, and by the
        // next receive its reader has copied it (into a Lua string) and let go, so `clear()`
        // finds the storage unshared and allocates nothing.
        scratch.clear()
        scratch.reserveCapacity(minimumWritableBytes: Swift.max(maximum, 1))
        while true {
            let count = scratch.withUnsafeMutableWritableBytes { space in
                Glibc.recv(descriptor, space.baseAddress, maximum, 0)
            }
            if count >= 0 {
                scratch.moveWriterIndex(forwardBy: count)
                return .success(scratch)
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN { return nil }
            return .failure(.system(errno: code, partial: ByteBuffer()))
        }
    }

    func close() {
        guard descriptor >= 0 else { return }
        socket = nil
        poller.deregister(registration)
        Glibc.close(descriptor)
        descriptor = -1
    }
}
#endif
