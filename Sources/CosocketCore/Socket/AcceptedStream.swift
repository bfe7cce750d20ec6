#if os(Linux)
import NIOCore

/// Told about an ``AcceptedStream``'s events, on its loop.
public protocol AcceptedStreamDelegate: AnyObject {
    /// Bytes arrived in ``AcceptedStream/buffer``, or the input ended (``AcceptedStream/inputClosed``).
    func streamHasInput(_ stream: AcceptedStream)
    /// The connection is gone (closed by the peer or an error).
    func streamDidClose(_ stream: AcceptedStream)
    /// The TLS handshake begun by ``AcceptedStream/startTLS(_:)`` completed.
    func streamDidFinishHandshake(_ stream: AcceptedStream)
    /// The handshake failed, with the line nginx logs for it (at `info`); the stream closes next.
    func streamDidFailHandshake(_ stream: AcceptedStream, reason: String)
    /// The client ended its side while a request socket holds the connection and is not
    /// reading: what `lua_check_client_abort` watches for (the socket's own reads still see it).
    func streamPeerClosedWhileLent(_ stream: AcceptedStream)
}

extension AcceptedStreamDelegate {
    public func streamPeerClosedWhileLent(_ stream: AcceptedStream) {}
    public func streamDidFinishHandshake(_ stream: AcceptedStream) {}
    public func streamDidFailHandshake(_ stream: AcceptedStream, reason: String) {}
}

/// A client connection accepted by a ``DescriptorListener``: a descriptor of the engine's own,
/// read as bytes arrive and written without a NIO channel. Confined to its loop.
public final class AcceptedStream: @unchecked Sendable {
    let connection: StreamConnection
    /// Not retained: the delegate owns the stream (see ``StreamSocket/delegate``).
    public var delegate: (any AcceptedStreamDelegate)? {
        get {
            delegateCheck.verify()
            return uncheckedDelegate
        }
        set {
            uncheckedDelegate = newValue
            delegateCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedDelegate: (any AcceptedStreamDelegate)?
    /// Debug builds: asserts that the object is alive whenever `delegate` is read.
    private var delegateCheck = UnownedReferenceCheck()
    /// The client's address.
    public let remoteAddress: SocketAddress?
    private var drainCallbacks: [() -> Void] = []
    private var closesWhenDrained = false

    init(connection: StreamConnection, remoteAddress: SocketAddress?) {
        self.connection = connection
        self.remoteAddress = remoteAddress
        connection.owner = self
    }

    deinit {
        connection.owner = nil
        connection.close()
    }

    /// Moves the bytes received since the last call to the end of `buffer`: the two swap
    /// storage when `buffer` is empty (so reads alternate between two buffers and allocate
    /// nothing), else the bytes are copied.
    public func takeReceived(into buffer: inout ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer.clear()
            swap(&buffer, &connection.buffer)
        } else {
            buffer.writeBuffer(&connection.buffer)
            connection.buffer.clear()
        }
    }

    /// Puts `bytes` back in front of what is buffered (a request socket reads them first).
    public func giveBack(_ bytes: inout ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        bytes.writeBuffer(&connection.buffer)
        swap(&bytes, &connection.buffer)
        bytes.clear()
    }

    /// The client ended its side, or the connection closed: no more bytes will arrive.
    public var inputClosed: Bool { connection.inputClosed }
    public var isClosed: Bool { connection.isClosed }
    /// Whether every byte written has reached the kernel.
    public var isFlushed: Bool { connection.pendingWrites.isEmpty }
    /// The bytes written that the kernel has not taken yet.
    public var unsentByteCount: Int { connection.pendingWrites.reduce(0) { $0 + $1.readableBytes } }

    /// Reports the next bytes as they arrive; resumes reading after ``pauseReading()``.
    public func requestInput() {
        connection.requestInput()
    }

    /// Stops reading until the next ``requestInput()`` (bytes stay in the kernel).
    public func pauseReading() {
        connection.readingPaused = true
    }

    /// Writes `data`. Returns `true` when `whenWritten` will run, once the kernel has taken
    /// everything written so far; `false` when it will not: the bytes went at once, or the
    /// connection is closed.
    public func write(_ data: ByteBuffer, whenWritten: (() -> Void)?) -> Bool {
        if connection.write(data) || connection.isClosed { return false }
        if let whenWritten { drainCallbacks.append(whenWritten) }
        return whenWritten != nil
    }

    /// Closes the connection (what was not written yet is dropped); the delegate hears of it
    /// as of any other end.
    public func close() {
        // A connection a request socket closed still tells the delegate, once.
        guard !connection.isClosed else { return ended() }
        connection.close()
        ended()
    }

    /// Told by the request socket holding the connection (see
    /// ``AcceptedStreamDelegate/streamPeerClosedWhileLent(_:)``).
    func lentPeerClosed() {
        delegate?.streamPeerClosedWhileLent(self)
    }

    /// A request socket (``StreamSocket/adopt(_:limit:)``) has the connection: its events go
    /// there, not to the delegate.
    public var isLent: Bool { connection.owner !== self }
    /// The body bytes a request socket left unread when it gave the connection back: the
    /// HTTP connection discards them before the next request, as nginx does.
    public internal(set) var unreadBodyBytes = 0

    /// The connection is gone: writes waited for are over (their callbacks run, as a NIO
    /// channel fails its pending writes' promises), then the delegate hears of it, once.
    private func ended() {
        runDrainCallbacks()
        let delegate = self.delegate
        self.delegate = nil
        delegate?.streamDidClose(self)
    }

    private func runDrainCallbacks() {
        guard !drainCallbacks.isEmpty else { return }
        let callbacks = drainCallbacks
        drainCallbacks.removeAll()
        for callback in callbacks { callback() }
    }

    /// Closes once everything written has reached the kernel.
    public func closeAfterWrites() {
        if isFlushed { return close() }
        closesWhenDrained = true
    }
}

extension AcceptedStream: StreamConnectionOwner {
    func connectionHasInput(_ connection: StreamConnection) {
        delegate?.streamHasInput(self)
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        // A callback may resume the handler, which may write more, or end the connection.
        runDrainCallbacks()
        guard !connection.isClosed else { return }
        if closesWhenDrained, isFlushed { close() }
    }

    func connectionDidClose(_ connection: StreamConnection) {
        ended()
    }

    func connectionDidFinishHandshake(_ connection: StreamConnection, failure: TLSStreamTransport.Failure?) {
        handshakeFinished(failure: failure)
    }
}
#endif
