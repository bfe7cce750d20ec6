#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Receives the results of datagram operations that could not finish at once (a
/// `setpeername` that waited for the resolver or a NIO channel, a `receive` that waited for a
/// datagram). Exactly one call per operation that returned `nil`, on the socket's loop.
public protocol DatagramSocketDelegate: AnyObject {
    func datagramSocketDidConnect(_ socket: DatagramSocket, result: Result<Void, CosocketError>)
    func datagramSocketDidReceive(_ socket: DatagramSocket, result: Result<ByteBuffer, CosocketError>)
}

/// A datagram cosocket: lua-nginx-module's `udpsock`, the sibling of ``StreamSocket`` on the
/// same engine (its timers, resolver and transport choice), confined to one event loop.
///
/// `connect` associates the socket with one peer (`setpeername`); `send` sends one datagram;
/// `receive` returns one datagram (truncated to the size asked for). No error is fatal: a
/// read timeout or a refused port (ICMP port unreachable, which the kernel reports to the
/// next `recv` or `send`) leaves the socket usable, as in the reference.
///
/// On a loop with a readiness set the socket is a descriptor of its own, read and written
/// directly; on any other loop, a connected NIO datagram channel.
public final class DatagramSocket: DeadlineQueueMember, @unchecked Sendable {
    public let engine: CosocketEngine
    /// Not retained: the delegate owns the socket and calls ``abort()`` before it goes away.
    public var delegate: (any DatagramSocketDelegate)? {
        get {
            delegateCheck.verify()
            return uncheckedDelegate
        }
        set {
            uncheckedDelegate = newValue
            delegateCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedDelegate: (any DatagramSocketDelegate)?
    /// Debug builds: asserts that the object is alive whenever `delegate` is read.
    private var delegateCheck = UnownedReferenceCheck()
    /// The read timeout; `nil` uses `lua_socket_read_timeout`.
    public var readTimeout: TimeAmount?
    public private(set) var state = DatagramSocketState()
    /// The peer of the current association, after name resolution.
    public private(set) var peerAddress: SocketAddress?
    private var sourceAddress: SocketAddress?
    private var transport: (any DatagramTransport)?
    /// Counts associations: a resolve that finishes for an earlier one only cleans up.
    private var generation: UInt64 = 0
    private var deadlines = SocketDeadlines()
    var deadlineQueueSlot = -1

    /// The settings of the location the socket is used from (its `resolver`, for now).
    public var defaults: EngineConfiguration

    public init(engine: CosocketEngine) {
        self.engine = engine
        self.defaults = engine.configuration
    }

    deinit {
        transport?.close()
        if deadlines.armed != nil { engine.timers.disarm(self) }
    }

    // MARK: Association

    /// The local address the next association binds to (`udpsock:bind`).
    public func bind(to address: SocketAddress) {
        sourceAddress = address
    }

    /// Associates the socket with `target` (`setpeername`), closing the current association
    /// first; `nil` when the result comes through the delegate.
    public func connect(to target: ConnectTarget) -> Result<Void, CosocketError>? {
        guard case .proceed(let closing) = state.beginSetPeer() else { return .failure(.busyDatagram) }
        if closing { closeTransport() }
        generation &+= 1
        peerAddress = nil
        switch target {
        case .unix(let path):
            guard let address = try? SocketAddress(unixDomainSocketPath: path) else {
                return .failure(.system(errno: ENAMETOOLONG, partial: ByteBuffer()))
            }
            return open(address)
        case .host(let host, let port):
            switch engine.resolver(for: defaults).resolve(host: host, port: port, on: engine.eventLoop) {
            case .resolved(let addresses):
                return open(chosen(addresses, host: host))
            case .failed(let error):
                return .failure(error)
            case .pending(let future):
                state.resolving()
                let generation = self.generation
                future.whenComplete { result in
                    guard generation == self.generation, self.state.phase == .resolving else { return }
                    self.state.openFailed()
                    let outcome: Result<Void, CosocketError>?
                    switch result {
                    case .success(let addresses): outcome = self.open(self.chosen(addresses, host: host))
                    case .failure(let error):
                        outcome = .failure((error as? CosocketError) ?? .unresolved(host: host, code: 2, reason: "Server failure"))
                    }
                    if let outcome { self.delegate?.datagramSocketDidConnect(self, result: outcome) }
                }
                return nil
            }
        }
    }

    /// The address of a name's that the socket sends to. A datagram socket has no handshake
    /// to tell a dead address by, so there is nothing to fall back on: the first (A before
    /// AAAA, as nginx's resolver lists them), or, with `lua_socket_connect_fallback off`, one
    /// at random as the reference picks it. Nil (a resolver's empty answer) fails as not found.
    private func chosen(_ addresses: ResolvedAddresses, host: String) -> Result<SocketAddress, CosocketError> {
        guard !addresses.isEmpty else { return .failure(.unresolved(host: host, code: 3, reason: "Host not found")) }
        return .success(addresses[defaults.connectFallback ? 0 : Int.random(in: 0..<addresses.count)])
    }

    private func open(_ chosen: Result<SocketAddress, CosocketError>) -> Result<Void, CosocketError>? {
        switch chosen {
        case .success(let address): return open(address)
        case .failure(let error): return .failure(error)
        }
    }

    private func open(_ address: SocketAddress) -> Result<Void, CosocketError>? {
        peerAddress = address
        #if os(Linux)
        if let poller = engine.poller {
            switch DatagramDescriptor.open(address, from: sourceAddress, poller: poller, socket: self) {
            case .success(let descriptor):
                transport = descriptor
                state.opened()
                return .success(())
            case .failure(let error):
                return .failure(error)
            }
        }
        #endif
        state.resolving()
        let generation = self.generation
        // The channel may open inside the call (a datagram connect needs no handshake): its
        // result is then returned, since the caller has not parked yet.
        var synchronous = true
        var synchronousResult: Result<Void, CosocketError>?
        DatagramChannelTransport.open(address, from: sourceAddress, on: engine.eventLoop, socket: self).whenComplete { result in
            guard generation == self.generation, self.state.phase == .resolving else {
                if case .success(let channel) = result { channel.close() }
                return
            }
            let outcome: Result<Void, CosocketError>
            switch result {
            case .success(let channel):
                self.transport = channel
                self.state.opened()
                outcome = .success(())
            case .failure(let error):
                self.state.openFailed()
                outcome = .failure(CosocketError(connectFailure: error))
            }
            if synchronous {
                synchronousResult = outcome
            } else {
                self.delegate?.datagramSocketDidConnect(self, result: outcome)
            }
        }
        synchronous = false
        return synchronousResult
    }

    // MARK: Send and receive

    /// Sends `data` as one datagram.
    public func send(_ data: ByteBuffer) -> Result<Void, CosocketError> {
        switch state.sendDecision() {
        case .closed: return .failure(.closedEmpty)
        case .busy: return .failure(.busyDatagram)
        case .proceed: break
        }
        guard let transport else { return .failure(.closedEmpty) }
        return transport.send(data)
    }

    /// Receives one datagram, at most `maximum` bytes of it (the rest is dropped); `nil` when
    /// the result comes through the delegate.
    public func receive(maximum: Int = DatagramSocketState.maximumDatagramSize) -> Result<ByteBuffer, CosocketError>? {
        switch state.receiveDecision() {
        case .closed: return .failure(.closedEmpty)
        case .busy: return .failure(.busyDatagram)
        case .proceed: break
        }
        guard let transport else { return .failure(.closedEmpty) }
        if let result = transport.receive(maximum: maximum) { return result }
        state.waitForDatagram(size: maximum)
        if let armed = deadlines.set(.read, at: .now() + (readTimeout ?? engine.configuration.readTimeout)) {
            engine.timers.arm(self, at: armed)
        }
        return nil
    }

    /// The transport may have a datagram (or an error) for a waiting read.
    func transportReadable() {
        guard let size = state.waitingReceiveSize, let transport, let result = transport.receive(maximum: size) else { return }
        finishReceive(result)
    }

    private func finishReceive(_ result: Result<ByteBuffer, CosocketError>) {
        state.receiveEnded()
        deadlines.clear(.read)
        delegate?.datagramSocketDidReceive(self, result: result)
    }

    /// Called by the engine's ``EngineTimers`` once the armed deadline has passed.
    func timerFired() {
        deadlines.entryFired()
        while deadlines.takeExpired(at: .now()) != nil {
            if state.waitingReceiveSize != nil { finishReceive(.failure(.timeoutEmpty)) }
        }
        if let armed = deadlines.rearm() { engine.timers.arm(self, at: armed) }
    }

    // MARK: Close

    /// Ends the association (`udpsock:close`).
    public func close() -> Result<Void, CosocketError> {
        switch state.close() {
        case .closed: return .failure(.closedEmpty)
        case .busy: return .failure(.busyDatagram)
        case .proceed:
            closeTransport()
            return .success(())
        }
    }

    /// Ends everything without reporting to the delegate: the owner is gone.
    public func abort() {
        delegate = nil
        generation &+= 1
        state.abort()
        if deadlines.clearAll() { engine.timers.disarm(self) }
        closeTransport()
    }

    /// Back to a new socket's state for reuse by a new owner; `false` while something waits.
    public func resetForReuse() -> Bool {
        guard !state.isWaiting else { return false }
        abort()
        readTimeout = nil
        sourceAddress = nil
        peerAddress = nil
        return true
    }

    private func closeTransport() {
        transport?.close()
        transport = nil
    }
}

/// How a ``DatagramSocket`` reaches the kernel: its own descriptor or a NIO channel.
protocol DatagramTransport: AnyObject {
    func send(_ data: ByteBuffer) -> Result<Void, CosocketError>
    /// One datagram or the pending error; `nil` when there is nothing yet (the transport then
    /// calls ``DatagramSocket/transportReadable()`` when there may be).
    func receive(maximum: Int) -> Result<ByteBuffer, CosocketError>?
    func close()
}

extension CosocketError {
    static let busyDatagram = CosocketError.busy(.datagram)
}
