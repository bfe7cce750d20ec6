#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Whoever is currently responsible for a connection: the socket that uses it, or the pool
/// that keeps it idle. Exactly one owner at a time receives its events.
protocol StreamConnectionOwner: AnyObject {
    /// Bytes, end of stream or a read error arrived.
    func connectionHasInput(_ connection: StreamConnection)
    /// Every byte written so far has reached the kernel.
    func connectionDidDrain(_ connection: StreamConnection)
    /// The connection is gone (closed by us, by the peer, or by an error).
    func connectionDidClose(_ connection: StreamConnection)
    /// A connect left in progress ended: `errno` 0 when it connected, else why it failed.
    func connectionDidConnect(_ connection: StreamConnection, errno: CInt)
    /// A TLS handshake left in progress ended: `failure` nil when it completed.
    func connectionDidFinishHandshake(_ connection: StreamConnection, failure: TLSStreamTransport.Failure?)
}

extension StreamConnectionOwner {
    func connectionDidConnect(_ connection: StreamConnection, errno: CInt) {}
    func connectionDidFinishHandshake(_ connection: StreamConnection, failure: TLSStreamTransport.Failure?) {}
}

/// One TCP or unix-domain connection and its receive buffer; the unit a pool keeps.
///
/// It runs over one of two transports:
/// - a descriptor of the engine's own, watched by the loop's ``DescriptorPoller`` (see
///   `StreamConnection+Descriptor.swift`), where the loop has one: the lean path, like an
///   nginx connection;
/// - a NIO channel, with this object as its handler (`StreamConnection+Channel.swift`), on
///   any other loop.
///
/// Either way bytes are read as they arrive, which keeps the descriptor registered with epoll
/// the way nginx keeps it: asking for each read and dropping interest after it cost two
/// `epoll_ctl` calls per receive. A consumer that falls behind by `pauseThreshold` bytes
/// pauses reading until it takes them, so a slow consumer never buffers a whole stream.
final class StreamConnection: DeadlineQueueMember, @unchecked Sendable {
    /// The channel transport's handler context; nil on the descriptor transport.
    var context: ChannelHandlerContext?
    #if os(Linux)
    /// The loop's readiness set, when the connection uses the descriptor transport.
    let poller: DescriptorPoller?
    /// The descriptor transport's state (see `StreamConnection+Descriptor.swift`).
    var descriptor: CInt = -1
    var registration: UInt64 = 0
    /// Bytes sent but not yet taken by the kernel.
    var pendingWrites: [ByteBuffer] = []
    /// The kernel may hold bytes for us: epoll said so, and no read has come up short since.
    var readable = false
    /// The peer shut its side or the connection failed: reads go on until they say how.
    var peerHungUp = false
    /// The connect has not finished yet.
    var connecting = false
    /// Our side shut its writing (`shutdown("send")`, a send timeout).
    var outputShut = false
    /// A client connection (accepted): dispatched after upstream ones in a drain.
    var isDownstream = false
    /// How many bytes one `read` asks for.
    let readSize: Int
    /// The connection's TLS, once a handshake began on it (see `StreamConnection+TLS.swift`):
    /// reads and writes go through it from then on, and it stays with the connection in a pool.
    var tls: TLSStreamTransport?
    /// The handshake is in flight: readiness events drive it rather than reads.
    var tlsHandshaking = false
    /// The registration asks for EPOLLOUT (a client connection's does once a write waited).
    var watchesWritable = true
    #endif
    /// Not retained, and not weak either (a weak reference gives its target a side table,
    /// which makes every retain and release of it several times dearer): each owner lets go
    /// before it goes away (sockets in `deinit` and `release`, the pools on checkout and in
    /// `deinit`, accepted streams in `deinit`).
    var owner: (any StreamConnectionOwner)? {
        get {
            ownerCheck.verify()
            return uncheckedOwner
        }
        set {
            uncheckedOwner = newValue
            ownerCheck.track(newValue)
        }
    }
    private unowned(unsafe) var uncheckedOwner: (any StreamConnectionOwner)?
    /// Debug builds: asserts that the object is alive whenever `owner` is read.
    private var ownerCheck = UnownedReferenceCheck()

    /// Received bytes not yet handed to a reader.
    var buffer: ByteBuffer
    /// The peer closed its side (or the connection closed): no more bytes will arrive.
    var inputClosed = false
    /// The first system error seen on the connection, reported to the next operation.
    var errorCode: Int32?
    var isClosed = false
    /// Set while the owner handles input.
    var insideInputNotification = false
    /// Bytes arrived while nobody waited, not yet reported to the owner.
    var unreportedInput = false

    /// Where the pool files this connection, and how many times it has been reused.
    var poolKey: String
    var reuseCount = 0
    /// Where the connection waits in the engine's idle-deadline queue while pooled.
    var deadlineQueueSlot = -1

    /// Buffered bytes at which reading pauses until the owner takes some.
    let pauseThreshold: Int
    var readingPaused = false
    /// Whether the owner waits for bytes (nginx would be inside `recv` for it).
    var inputWanted = false
    /// Bytes at the end of `buffer` that arrived while nobody waited: nginx would still
    /// have them in the kernel, its read event ready, so `setkeepalive` calls them a dubious
    /// state rather than unread data.
    private(set) var bytesReadAhead = 0

    /// A connection on the channel transport, or (with a `poller`) on the descriptor one, which
    /// reads `readSize` bytes at a time.
    #if os(Linux)
    init(poolKey: String, readSize: Int, poller: DescriptorPoller?) {
        self.poolKey = poolKey
        self.pauseThreshold = max(4 * readSize, 16 * 1024)
        self.buffer = ByteBuffer()
        self.readSize = max(readSize, 1)
        self.poller = poller
    }
    #else
    init(poolKey: String, readSize: Int) {
        self.poolKey = poolKey
        self.pauseThreshold = max(4 * readSize, 16 * 1024)
        self.buffer = ByteBuffer()
    }
    #endif

    // MARK: Input bookkeeping (both transports)

    /// Files `count` bytes just appended to `buffer`; returns whether reading should pause.
    func received(_ count: Int) -> Bool {
        if inputWanted {
            // A waiting reader takes its bytes now rather than after a whole read cycle: the
            // buffer stays near one read's size instead of growing to hold the cycle, which
            // multiplied by the open connections showed in RSS.
            notifyOwnerOfInput()
        } else {
            bytesReadAhead += count
            unreportedInput = true
        }
        // A reader still waiting needs more whatever the buffer holds (its own pattern bounds
        // what it takes); only bytes nobody asked for pause the reading.
        if buffer.readableBytes >= pauseThreshold && !readingPaused && !inputWanted && !isClosed {
            readingPaused = true
            return true
        }
        return false
    }

    /// The end of a read cycle: only bytes nobody has been told about are reported. The owner
    /// may have changed since (a reader that finished and parked the connection in its pool
    /// must not hand the pool a stale notification, which it would take for stray bytes).
    func readCycleEnded() {
        if unreportedInput { notifyOwnerOfInput() }
    }

    func notifyOwnerOfInput() {
        unreportedInput = false
        insideInputNotification = true
        inputWanted = false
        owner?.connectionHasInput(self)
        insideInputNotification = false
    }

    /// The peer ended its side; writing may go on.
    func peerClosedInput() {
        inputClosed = true
        owner?.connectionHasInput(self)
    }

    /// The connection is gone: the transport has let go of it.
    func transportClosed() {
        inputClosed = true
        isClosed = true
        owner?.connectionHasInput(self)
        owner?.connectionDidClose(self)
    }

    /// A system error ended the connection (a reset, a failed write).
    func recordError(_ code: Int32) {
        if errorCode == nil { errorCode = code }
    }

    // MARK: Operations (on the loop)

    /// A new owner (a socket taking the connection from its pool) has not asked for input
    /// yet: bytes that arrive before it does are read ahead.
    func ownerChanged() {
        inputWanted = false
        bytesReadAhead = 0
    }

    /// A read is about to take `count` buffered bytes: if that reaches into the bytes read
    /// ahead, nginx would have received them (all of them, in one `recv`) for this read.
    func consumingBuffered(_ count: Int) {
        if count > buffer.readableBytes - bytesReadAhead { bytesReadAhead = 0 }
    }

    /// The owner waits for more bytes (answered by `connectionHasInput`): reading resumes if
    /// it was paused.
    func requestInput() {
        inputWanted = true
        // What arrived ahead is what nginx would now receive for this read.
        bytesReadAhead = 0
        guard !isClosed, readingPaused else { return }
        readingPaused = false
        #if os(Linux)
        if poller != nil {
            descriptorResumeReading()
            return
        }
        #endif
        channelResumeReading()
    }

    /// Writes and flushes; returns whether everything is already in the kernel.
    func write(_ data: ByteBuffer) -> Bool {
        guard !isClosed else { return false }
        #if os(Linux)
        if poller != nil { return descriptorWrite(CollectionOfOne(data)) }
        #endif
        return channelWrite(CollectionOfOne(data))
    }

    /// Writes several buffers with one gathering write.
    func write(contentsOf buffers: [ByteBuffer]) -> Bool {
        guard !isClosed else { return false }
        #if os(Linux)
        if poller != nil { return descriptorWrite(buffers) }
        #endif
        return channelWrite(buffers)
    }

    /// Half-closes the write side (`shutdown("send")`).
    func shutdownOutput() {
        guard !isClosed else { return }
        #if os(Linux)
        if poller != nil {
            descriptorShutdownOutput()
            return
        }
        #endif
        context?.close(mode: .output, promise: nil)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        inputClosed = true
        #if os(Linux)
        if poller != nil {
            descriptorClose()
            return
        }
        #endif
        channelClose()
    }

    /// Sets a socket option on the connection's descriptor.
    func setOption(_ option: TCPSocketOption, value: Int) -> Result<Void, CosocketError> {
        guard !isClosed else { return .failure(.closedEmpty) }
        #if os(Linux)
        if poller != nil { return descriptorSetOption(option, value: value) }
        #endif
        return channelSetOption(option, value: value)
    }

    /// Reads a socket option from the connection's descriptor.
    func getOption(_ option: TCPSocketOption) -> Result<Int, CosocketError> {
        guard !isClosed else { return .failure(.closedEmpty) }
        #if os(Linux)
        if poller != nil { return descriptorGetOption(option) }
        #endif
        return channelGetOption(option)
    }

    /// The ``errorCode`` of a TLS failure that is no system error (no errno is negative).
    static let tlsFailureCode: Int32 = -1

    /// The error a failed operation reports: the recorded system error, else `closed`.
    func failure(partial: ByteBuffer) -> CosocketError {
        if errorCode == Self.tlsFailureCode { return .tlsFailure(partial: partial) }
        if let errorCode { return .system(errno: errorCode, partial: partial) }
        return .closed(partial: partial)
    }
}

extension StreamConnection {
    /// How opening a connection went, on either transport.
    enum OpenOutcome {
        /// Connected. `afterInProgress`: the kernel said the connect was in progress first,
        /// where nginx would have waited for the event loop (see ``NonBlockingConnect``).
        case connected(afterInProgress: Bool)
        case failed(CosocketError, afterInProgress: Bool)
        /// The kernel goes on with it: the owner hears how it ended.
        case inProgress
    }
}

extension StreamConnection: Hashable {
    static func == (lhs: StreamConnection, rhs: StreamConnection) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
