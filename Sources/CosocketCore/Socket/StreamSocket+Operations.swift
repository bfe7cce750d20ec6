#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Reads, sends, close, keepalive and timeouts of a connected ``StreamSocket``: each asks the
/// socket's ``StreamSocketStateMachine`` first and executes its decision on the connection.
extension StreamSocket {
    // MARK: Receive

    /// Reads according to `pattern`; `nil` means the result will come through the delegate.
    public func receive(_ pattern: ReadPattern) -> ReadOutcome? {
        let readsAll: Bool
        if case .all = pattern { readsAll = true } else { readsAll = false }
        switch machine.readDecision(readsAll: readsAll) {
        case .refuse(let error): return .failure(error)
        case .emptyBody: return .data(ByteBuffer())
        case .proceed: break
        }
        guard let connection else { return .failure(.closedEmpty) }
        readMatcher = ReadMatcher(pattern)
        if let outcome = completeRead(connection) { return outcome }
        arm(machine.readWaits(until: .now() + (timeouts.read ?? defaults.readTimeout)))
        connection.requestInput()
        return nil
    }

    /// Applies the pending read's pattern to the buffer; ends the read when it decides.
    private func completeRead(_ connection: StreamConnection) -> ReadOutcome? {
        let window = machine.readWindow(available: connection.buffer.readableBytes, inputClosed: connection.inputClosed)
        let eof = window.endsStream
        // Evaluated in place: copying the matcher out and back (its pattern is an enum with
        // array payloads) cost more than scanning a short line.
        guard
            var decision = connection.buffer.withUnsafeReadableBytes({
                readMatcher?.evaluate(UnsafeRawBufferPointer(rebasing: $0.prefix(window.count)), eof: eof)
            })
        else {
            return nil
        }
        if eof, connection.errorCode != nil, case .all? = readMatcher?.pattern {
            // A reset is not the orderly end `*a` reads up to.
            decision = .closedEarly
        }
        switch decision {
        case .needMore:
            return nil
        case .deliver(let count, let consume, let stripCR):
            connection.consumingBuffered(consume)
            let data = connection.buffer.takeBytes(count, consuming: consume, strippingCR: stripCR)
            endRead()
            consumedLimited(consume, connection)
            return .data(data)
        case .endOfIteration(let consume):
            connection.consumingBuffered(consume)
            connection.buffer.moveReaderIndex(forwardBy: consume)
            endRead()
            consumedLimited(consume, connection)
            return .endOfIteration
        case .closedEarly:
            guard let matcher = readMatcher else { return nil }
            // A read that fails at a body's end leaves no `*a` answering "" after it: the body
            // is given back first, then the read ends.
            let partial = takePartial(connection, matcher: matcher)
            // As in the reference, reading is over but the socket object stays: a send reports
            // what the kernel says (a broken pipe after a reset) and `close` releases it.
            endRead(atEndOfStream: true)
            return .failure(connection.failure(partial: partial))
        }
    }

    private func endRead(atEndOfStream: Bool = false) {
        readMatcher = nil
        machine.readEnded(atEndOfStream: atEndOfStream)
    }

    /// The bytes a failed read hands back, counted off a request body.
    private func takePartial(_ connection: StreamConnection, matcher: ReadMatcher) -> ByteBuffer {
        let count = machine.readWindow(available: connection.buffer.readableBytes, inputClosed: false).count
        defer { consumedLimited(count, connection) }
        var stripCR = false
        var kept = count
        switch matcher.pattern {
        case .line: stripCR = true
        case .until(_, nil): kept = count - matcher.heldBackCount
        default: break
        }
        return connection.buffer.takeBytes(kept, consuming: count, strippingCR: stripCR)
    }

    // MARK: Send

    /// Sends `data`; the result is the byte count once all of it is in the kernel's buffer.
    public func send(_ data: ByteBuffer) -> Result<Int, CosocketError>? {
        send(byteCount: data.readableBytes) { $0.write(data) }
    }

    /// Sends several buffers with one gathering write, without joining them.
    public func send(contentsOf buffers: [ByteBuffer]) -> Result<Int, CosocketError>? {
        let count = buffers.reduce(0) { $0 + $1.readableBytes }
        return send(byteCount: count) { $0.write(contentsOf: buffers) }
    }

    private func send(byteCount: Int, write: (StreamConnection) -> Bool) -> Result<Int, CosocketError>? {
        if case .refuse(let error) = machine.sendDecision() { return .failure(error) }
        guard let connection else { return .failure(.closedEmpty) }
        if !connection.isClosed, write(connection) { return .success(byteCount) }
        if connection.isClosed {
            // The kernel's first send after a reset that no read reported answers the reset
            // (ECONNRESET, as the reference says); later ones a broken pipe.
            let error = !machine.readFailed && connection.errorCode != nil ? connection.failure(partial: ByteBuffer()) : Self.writeError
            if machine.sendFailed() { release(connection, closing: true, failingWith: error) }
            return .failure(error)
        }
        arm(machine.sendWaits(count: byteCount, until: .now() + (timeouts.send ?? defaults.sendTimeout)))
        return nil
    }

    /// NIO reports write errors only to write promises, which the send path avoids; a write to
    /// a channel that closed under it is what the kernel calls a broken pipe.
    private static var writeError: CosocketError { .system(errno: EPIPE, partial: ByteBuffer()) }

    // MARK: Close, keepalive, shutdown, options

    /// Closes the connection (`tcpsock:close`); operations in flight fail with `closed`.
    public func close() -> Result<Void, CosocketError> {
        if case .refuse(let error) = machine.closeDecision() { return .failure(error) }
        guard let connection else { return .failure(.closedEmpty) }
        // A reset or a failed read leaves the socket to close: 1, as the reference answers
        // (only a send failing after a read failed releases it first, and answers `closed`).
        release(connection, closing: true, failingWith: .closedEmpty)
        return .success(())
    }

    /// Puts the connection into the pool (`tcpsock:setkeepalive`); the socket is closed after.
    ///
    /// - Parameters:
    ///   - idleTimeout: the longest the connection may sit idle; `nil` uses the configured
    ///     default, `.zero` keeps it forever.
    ///   - poolSize: the pool's capacity, used only if this call creates the pool.
    public func setKeepalive(idleTimeout: TimeAmount?, poolSize: Int?) -> Result<Void, CosocketError> {
        guard let connection else { return .failure(.closedEmpty) }
        let condition = StreamSocketStateMachine.ConnectionCondition(
            isOver: connection.isClosed || connection.inputClosed,
            bufferedBytes: connection.buffer.readableBytes,
            bytesReadAhead: connection.bytesReadAhead
        )
        switch machine.keepaliveDecision(condition) {
        case .refuse(let error):
            return .failure(error)
        case .closeWithConnectionFailure:
            release(connection, closing: true)
            return .failure(connection.failure(partial: ByteBuffer()))
        case .close(let error):
            release(connection, closing: true)
            return .failure(error)
        case .pool:
            release(connection, closing: false)
            engine.pools.release(
                connection,
                idleTimeout: idleTimeout ?? defaults.keepaliveTimeout,
                poolSize: poolSize ?? locationPoolSize
            )
            return .success(())
        }
    }

    /// Closes the write side (`tcpsock:shutdown("send")`); reading goes on.
    public func shutdownSend() -> Result<Void, CosocketError> {
        let connection = self.connection
        if case .refuse(let error) = machine.shutdownDecision(connectionOpen: connection.map { !$0.isClosed } ?? false) {
            return .failure(error)
        }
        connection?.shutdownOutput()
        return .success(())
    }

    /// Sets a socket option (`tcpsock:setoption`).
    public func setOption(_ option: TCPSocketOption, value: Int) -> Result<Void, CosocketError> {
        guard let connection else { return .failure(.closedEmpty) }
        return connection.setOption(option, value: value)
    }

    /// Reads a socket option (`tcpsock:getoption`).
    public func getOption(_ option: TCPSocketOption) -> Result<Int, CosocketError> {
        guard let connection else { return .failure(.closedEmpty) }
        return connection.getOption(option)
    }

    /// Returns a socket that holds no connection and waits for nothing to its freshly created
    /// state (the delegate is the owner's to set), so that an owner can reuse it instead of
    /// allocating one; `false` (and nothing changed) for a socket still in use. Completions of
    /// earlier connect attempts that are still on their way find a newer attempt number and
    /// only clean up.
    public func resetForReuse() -> Bool {
        guard machine.resetForReuse() else { return false }
        timeouts = SocketTimeouts()
        peerAddress = nil
        sourceAddress = nil
        return true
    }

    /// Ends every activity without reporting to the delegate: the owner (a finished request or
    /// coroutine) is gone. The connection is closed unless it was already pooled.
    public func abort() {
        delegate = nil
        switch machine.abort() {
        case .connected:
            if let connection { release(connection, closing: true) }
        case .waitingForPool, .opening:
            abandonConnect()
        case .fresh, .closed:
            if machine.cancelDeadlines() { engine.timers.disarm(self) }
        }
    }

    /// Detaches the connection from this socket, closing it (and telling the pool) if asked,
    /// and fails any operation still in flight with `error`.
    func release(_ connection: StreamConnection, closing: Bool, failingWith error: CosocketError = .closedEmpty) {
        let release = machine.released()
        self.connection = nil
        connection.owner = nil
        if let lender {
            // A lent client connection goes back. A raw one closes when asked (the request
            // ends with it); of a body, the HTTP connection discards what was not read.
            self.lender = nil
            connection.owner = lender
            connection.ownerChanged()
            lender.unreadBodyBytes = release.unreadBodyBytes ?? 0
            if closing && release.unreadBodyBytes == nil { lender.close() }
        } else if closing {
            connection.close()
            engine.pools.closed(connection)
        }
        if release.disarms { engine.timers.disarm(self) }
        if release.failsRead {
            readMatcher = nil
            delegate?.socketDidRead(self, outcome: .failure(error))
        }
        if release.failsSend {
            delegate?.socketDidSend(self, result: .failure(error.withPartial(ByteBuffer())))
        }
        if release.failsHandshake {
            handshake = nil
            delegate?.socketDidHandshake(self, result: .failure(error.withPartial(ByteBuffer())))
        }
    }

    // MARK: Client connections

    /// Reads from (and writes to) a client connection, as `ngx.req.socket()` does. With a
    /// `limit` (the request body's rest) the stream ends after that many bytes and the
    /// connection goes back to `accepted`, whose delegate is told of the bytes after them;
    /// without one (`ngx.req.socket(true)`) the socket keeps it, and closing the socket
    /// closes the client connection.
    public func adopt(_ accepted: AcceptedStream, limit: Int?) {
        let connection = accepted.connection
        lender = accepted
        toldLenderOfEnd = false
        peerAddress = accepted.remoteAddress
        let endsAtOnce = machine.adopted(limit: limit)
        attach(connection)
        connection.ownerChanged()
        if endsAtOnce { giveBack(connection) }
    }

    /// Counts bytes a read took off a request body; at its end the connection goes back.
    private func consumedLimited(_ count: Int, _ connection: StreamConnection) {
        if machine.consumed(count) { giveBack(connection) }
    }

    /// The body has been read: reads answer `closed`, the HTTP connection takes its bytes on.
    private func giveBack(_ connection: StreamConnection) {
        guard let lender else { return }
        self.lender = nil
        self.connection = nil
        machine.bodyGivenBack()
        lender.unreadBodyBytes = 0
        connection.owner = lender
        connection.ownerChanged()
    }

    // MARK: Timer

    func arm(_ deadline: NIODeadline?) {
        if let deadline { engine.timers.arm(self, at: deadline) }
    }

    /// Called by the engine's ``EngineTimers`` once the armed deadline has passed.
    func timerFired() {
        machine.timerFired()
        let now = NIODeadline.now()
        while let operation = machine.takeExpired(at: now) {
            switch operation {
            case .read: readTimedOut()
            case .send: sendTimedOut()
            case .poolWait: poolWaitTimedOut()
            case .connect: connectTimedOut()
            case .handshake: handshakeTimedOut()
            }
        }
        arm(machine.rearm())
    }

    private func readTimedOut() {
        guard let connection, let matcher = readMatcher else { return }
        let partial = takePartial(connection, matcher: matcher)
        endRead()
        delegate?.socketDidRead(self, outcome: .failure(.timeout(partial: partial)))
    }

    /// As in the reference, a send timeout shuts the write side only: reading and `close` go on.
    private func sendTimedOut() {
        guard let connection, machine.sendTimedOut() else { return }
        connection.shutdownOutput()
        delegate?.socketDidSend(self, result: .failure(.timeoutEmpty))
    }
}

// MARK: - Connection events

extension StreamSocket: StreamConnectionOwner {
    func connectionHasInput(_ connection: StreamConnection) {
        guard readMatcher != nil else {
            // A client connection whose peer ended while nobody reads it: the HTTP side's
            // client-abort check hears of it, as nginx's read event tells it for a raw socket.
            if connection.inputClosed, let lender, !toldLenderOfEnd {
                toldLenderOfEnd = true
                lender.lentPeerClosed()
            }
            return
        }
        if let outcome = completeRead(connection) {
            delegate?.socketDidRead(self, outcome: outcome)
        } else {
            // The read timeout measures inactivity, as nginx's does: bytes restart it. The armed
            // timer finds the later deadline when it fires and re-arms itself.
            machine.readProgressed(until: .now() + (timeouts.read ?? defaults.readTimeout))
            connection.requestInput()
        }
    }

    func connectionDidDrain(_ connection: StreamConnection) {
        // The HTTP connection's response writes wait for it too (`ngx.flush(true)`).
        lender?.connectionDidDrain(connection)
        guard let count = machine.sendEnded() else { return }
        delegate?.socketDidSend(self, result: .success(count))
    }

    func connectionDidClose(_ connection: StreamConnection) {
        guard machine.pendingSendCount != nil, let current = self.connection, current === connection else { return }
        _ = machine.sendEnded()
        release(connection, closing: true)
        delegate?.socketDidSend(self, result: .failure(Self.writeError))
    }
}
