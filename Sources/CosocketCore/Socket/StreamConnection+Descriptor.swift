#if os(Linux)
import CEventPoll
import Glibc
import NIOCore

/// The descriptor transport: a non-blocking socket the engine reads and writes itself,
/// registered once (edge-triggered) with the loop's ``DescriptorPoller``, as nginx keeps its
/// upstream connections. Opening one costs a `socket`, a `connect` and an `epoll_ctl`, where a
/// NIO channel costs a pipeline, its handlers, a registration and a chain of futures.
extension StreamConnection: ReadinessHandler {
    /// Takes over `descriptor`, connected or (`connecting`) with its handshake in progress.
    /// On failure the descriptor is closed and the connection with it.
    func adopt(_ descriptor: CInt, connecting: Bool) -> CosocketError? {
        guard let poller else { return .closedEmpty }
        self.descriptor = descriptor
        self.connecting = connecting
        // A client connection is watched for writability only once a write has to wait, as
        // nginx adds its write event then: the registration's own EPOLLOUT edge was a loop
        // turn of its own for each new HTTPS client whose ClientHello had not come yet.
        watchesWritable = !isDownstream
        let events = watchesWritable ? DescriptorPoller.connectionEvents : Self.readEvents
        switch poller.register(descriptor, for: self, events: events, afterUpstream: isDownstream) {
        case .success(let token):
            registration = token
            return nil
        case .failure(let error):
            Glibc.close(descriptor)
            self.descriptor = -1
            isClosed = true
            inputClosed = true
            return error
        }
    }

    /// Opens a descriptor connected, or connecting, to `address` (bound to `source` if given);
    /// a connect left in progress ends with the owner's ``StreamConnectionOwner/connectionDidConnect(_:errno:)``.
    func openDescriptor(to address: SocketAddress, from source: SocketAddress?) -> OpenOutcome {
        switch NonBlockingConnect.start(address, from: source) {
        case .connected(let descriptor, let afterInProgress):
            if let error = adopt(descriptor, connecting: false) { return .failed(error, afterInProgress: false) }
            return .connected(afterInProgress: afterInProgress)
        case .failed(let code, let afterInProgress):
            return .failed(.system(errno: code, partial: ByteBuffer()), afterInProgress: afterInProgress)
        case .inProgress(let descriptor):
            if let error = adopt(descriptor, connecting: true) { return .failed(error, afterInProgress: false) }
            return .inProgress
        }
    }

    func descriptorReady(_ events: UInt32) {
        if connecting {
            guard events & UInt32(COSOCKET_EPOLLOUT | COSOCKET_EPOLLERR | COSOCKET_EPOLLHUP) != 0 else { return }
            connecting = false
            guard owner != nil else {
                // The connecting socket is gone; nothing will ever use this connection.
                close()
                return
            }
            let code = NonBlockingConnect.pendingError(descriptor)
            if code != 0 { recordError(code) }
            owner?.connectionDidConnect(self, errno: code)
            guard code == 0, !isClosed else { return }
        }
        if events & UInt32(COSOCKET_EPOLLRDHUP | COSOCKET_EPOLLHUP | COSOCKET_EPOLLERR) != 0 { peerHungUp = true }
        if let tls, events & UInt32(COSOCKET_EPOLLIN | COSOCKET_EPOLLRDHUP | COSOCKET_EPOLLHUP | COSOCKET_EPOLLERR) != 0 {
            tls.noteReadable()
        }
        if tlsHandshaking {
            // A step for an edge the handshake does not wait for would only meet WANT_READ
            // again: the writable edge after the server's flight, as its ACK frees the send
            // buffer, came once per handshake.
            if let tls, Self.handshakeIgnores(events, waitingForWritable: tls.handshakeWaitsForWritable, hook: tls.server?.isWaitingForHook == true) {
                return
            }
            tlsContinueHandshake()
            return
        }
        if inputClosed, !isClosed, events & UInt32(COSOCKET_EPOLLERR) != 0 {
            // A reset after the peer's FIN: reads are over, so nothing else would notice it.
            let code = NonBlockingConnect.pendingError(descriptor)
            fail(code != 0 ? code : ECONNRESET)
            return
        }
        if events & UInt32(COSOCKET_EPOLLIN | COSOCKET_EPOLLRDHUP | COSOCKET_EPOLLHUP | COSOCKET_EPOLLERR) != 0 {
            readable = true
            readAvailable()
            if let tls, tls.writeWaitsForReadable, !isClosed {
                tls.writeWaitsForReadable = false
                flushPendingWrites()
            }
        }
        if events & UInt32(COSOCKET_EPOLLOUT) != 0, !isClosed {
            if !pendingWrites.isEmpty { flushPendingWrites() }
            if let tls, tls.readWaitsForWritable {
                tls.readWaitsForWritable = false
                readable = true
                readAvailable()
            }
        }
    }

    /// Whether a readiness event leaves a handshake where it is: one waiting for bytes has no
    /// use for a writable edge alone (and one waiting to write none for a readable one). A
    /// handshake paused for a hook looks at every event, for the client leaving.
    static func handshakeIgnores(_ events: UInt32, waitingForWritable: Bool, hook: Bool) -> Bool {
        if hook { return false }
        let failed = UInt32(COSOCKET_EPOLLHUP | COSOCKET_EPOLLERR)
        let wanted = waitingForWritable ? UInt32(COSOCKET_EPOLLOUT) : UInt32(COSOCKET_EPOLLIN | COSOCKET_EPOLLRDHUP)
        return events & (wanted | failed) == 0
    }

    // MARK: Reading

    /// Reads what the kernel holds, until it has no more or reading pauses.
    func readAvailable() {
        while readable, !readingPaused, !isClosed, !inputClosed {
            if let tls, !peerHungUp, tls.inputDrained {
                // The last read came up short and OpenSSL holds nothing: the next bytes bring
                // a new edge (the read nginx makes here only meets EAGAIN).
                readable = false
                break
            }
            if buffer.readableBytes == 0 {
                buffer.clear()
            } else if buffer.writableBytes < readSize, buffer.readerIndex > 0 {
                buffer.discardReadBytes()
            }
            buffer.reserveCapacity(minimumWritableBytes: readSize)
            let count = buffer.withUnsafeMutableWritableBytes { space in
                let space = UnsafeMutableRawBufferPointer(rebasing: space.prefix(readSize))
                if let tls { return tlsRead(tls, into: space) }
                return Glibc.read(descriptor, space.baseAddress, space.count)
            }
            if count > 0 {
                buffer.moveWriterIndex(forwardBy: count)
                // A short read emptied the kernel's buffer: the next bytes bring a new edge. (Over
                // TLS a read returns a record at a time: the check at the loop's top asks
                // whether OpenSSL's own read of the descriptor came up short.)
                if count < readSize, !peerHungUp, tls == nil { readable = false }
                if received(count) { break }
            } else if count == 0 {
                readable = false
                readCycleEnded()
                guard !isClosed else { return }
                peerClosedInput()
                // Both directions shut: the connection is over, as a NIO channel closes then.
                if outputShut, !isClosed { closeTransport() }
                return
            } else {
                let code = errno
                if code == EINTR { continue }
                readable = false
                readCycleEnded()
                if code != EAGAIN, !isClosed { fail(code) }
                return
            }
        }
        readCycleEnded()
    }

    /// The registration of a connection not watched for writability (see ``adopt(_:connecting:)``).
    static let readEvents = UInt32(COSOCKET_EPOLLIN | COSOCKET_EPOLLRDHUP) | COSOCKET_EPOLLET

    /// Something waits for the socket to become writable (bytes the kernel did not take, a TLS
    /// step that wants to write): adds EPOLLOUT to the registration, once. The modification
    /// re-checks readiness, so a socket already writable reports it at the next poll.
    func watchWritable() {
        guard !watchesWritable, let poller, descriptor >= 0 else { return }
        watchesWritable = true
        _ = cosocket_epoll_ctl(poller.epollDescriptor, Int32(COSOCKET_EPOLL_CTL_MOD), descriptor, DescriptorPoller.connectionEvents, registration)
    }

    func descriptorResumeReading() {
        // Bytes may wait in the kernel with no new edge to come: ask epoll to look again
        // (a modification re-checks readiness), so they are read by the next drain rather than
        // inside this call, whose caller is not ready for input yet.
        if let tls, tls.hasPendingBytes {
            // Decrypted bytes wait inside OpenSSL, where epoll cannot see them.
            poller?.eventLoop.execute { if !self.isClosed { self.readAvailable() } }
            return
        }
        guard let poller, readable else { return }
        _ = cosocket_epoll_ctl(poller.epollDescriptor, Int32(COSOCKET_EPOLL_CTL_MOD), descriptor,
                               watchesWritable ? DescriptorPoller.connectionEvents : Self.readEvents, registration)
    }

    // MARK: Writing

    /// Sends `buffers` with one gathering write, keeping what the kernel does not take yet;
    /// returns whether all of it went.
    func descriptorWrite<Buffers: Collection<ByteBuffer>>(_ buffers: Buffers) -> Bool {
        let sent = descriptorSend(buffers)
        if !sent, !pendingWrites.isEmpty { watchWritable() }
        return sent
    }

    private func descriptorSend<Buffers: Collection<ByteBuffer>>(_ buffers: Buffers) -> Bool {
        if tls != nil { return tlsWrite(buffers) }
        if !pendingWrites.isEmpty {
            pendingWrites.append(contentsOf: buffers)
            return false
        }
        let total = buffers.reduce(0) { $0 + $1.readableBytes }
        let written = Self.sendAll(buffers, to: descriptor)
        if written == total { return true }
        if written < 0, written != -Int(EAGAIN) {
            failWrite()
            return false
        }
        var skip = Swift.max(written, 0)
        for var data in buffers {
            if skip >= data.readableBytes {
                skip -= data.readableBytes
                continue
            }
            data.moveReaderIndex(forwardBy: skip)
            skip = 0
            pendingWrites.append(data)
        }
        return false
    }

    /// The socket became writable: sends what waits, and tells the owner once all of it went.
    func flushPendingWrites() {
        if tls != nil {
            if tlsSendPending() == true { owner?.connectionDidDrain(self) }
            return
        }
        let written = Self.sendAll(pendingWrites, to: descriptor)
        if written < 0 {
            if written != -Int(EAGAIN) { failWrite() }
            return
        }
        var remaining = written
        var finished = 0
        for index in pendingWrites.indices {
            let count = pendingWrites[index].readableBytes
            if remaining >= count {
                remaining -= count
                finished += 1
            } else {
                pendingWrites[index].moveReaderIndex(forwardBy: remaining)
                break
            }
        }
        pendingWrites.removeFirst(finished)
        if pendingWrites.isEmpty { owner?.connectionDidDrain(self) }
    }

    /// Linux's `IOV_MAX`.
    private static let maximumGather = 1024

    /// Sends `buffers` in gathers of up to `IOV_MAX`, until the kernel takes less than a whole
    /// gather (its buffer is full: an `EPOLLOUT` edge follows) or all of them went; the byte
    /// count, or `-errno` if the first gather failed.
    private static func sendAll<Buffers: Collection<ByteBuffer>>(_ buffers: Buffers, to descriptor: CInt) -> Int {
        if buffers.count <= maximumGather { return gatherSend(buffers, to: descriptor) }
        var sent = 0
        var start = buffers.startIndex
        while start != buffers.endIndex {
            let end = buffers.index(start, offsetBy: maximumGather, limitedBy: buffers.endIndex) ?? buffers.endIndex
            let gather = buffers[start..<end]
            let written = gatherSend(gather, to: descriptor)
            if written < 0 { return sent > 0 ? sent : written }
            sent += written
            if written < gather.reduce(0, { $0 + $1.readableBytes }) { break }
            start = end
        }
        return sent
    }

    /// `sendmsg` of up to `IOV_MAX` buffers without `SIGPIPE`; the byte count, or `-errno`.
    private static func gatherSend<Buffers: Collection<ByteBuffer>>(_ buffers: Buffers, to descriptor: CInt) -> Int {
        let count = Swift.min(buffers.count, Self.maximumGather)
        if count == 1, let only = buffers.first {
            return only.withUnsafeReadableBytes { bytes in
                retryingOnInterrupt { Glibc.send(descriptor, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL)) }
            }
        }
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: Swift.max(count, 1)) { vectors in
            // The buffers' storage stays alive: `buffers` holds it for the whole call.
            var index = 0
            for data in buffers.prefix(count) {
                data.withUnsafeReadableBytes { bytes in
                    vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
                }
                index += 1
            }
            var message = msghdr()
            message.msg_iov = vectors.baseAddress
            message.msg_iovlen = count
            return withExtendedLifetime(buffers) {
                retryingOnInterrupt { sendmsg(descriptor, &message, CInt(MSG_NOSIGNAL)) }
            }
        }
    }

    private static func retryingOnInterrupt(_ call: () -> Int) -> Int {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = errno
            if code != EINTR { return -Int(code) }
        }
    }

    // MARK: Closing and options

    /// A system error ends the connection, as a channel's error does.
    func fail(_ code: CInt) {
        recordError(code)
        closeTransport()
    }

    /// A failed write ends the connection as it ends a NIO channel: what the peer sent before
    /// is read first (a response followed by a close must still reach its reader), and the
    /// write's error is not recorded for readers, who see the connection closed.
    func failWrite() {
        readable = true
        peerHungUp = true
        readAvailable()
        if !isClosed { closeTransport() }
    }

    private func closeTransport() {
        releaseDescriptor()
        transportClosed()
    }

    /// Shuts the write side at once (what was not sent yet is dropped, as nginx's
    /// `shutdown` drops it); with the read side already ended, the connection closes.
    func descriptorShutdownOutput() {
        pendingWrites.removeAll()
        tls?.shutdown()
        outputShut = true
        _ = Glibc.shutdown(descriptor, CInt(SHUT_WR))
        if inputClosed { closeTransport() }
    }

    func descriptorClose() {
        // close_notify, as nginx sends it when it closes (a failed connection sends none).
        if errorCode == nil { tls?.shutdown() }
        releaseDescriptor()
    }

    private func releaseDescriptor() {
        guard descriptor >= 0 else { return }
        poller?.deregister(registration)
        tls = nil
        tlsHandshaking = false
        Glibc.close(descriptor)
        descriptor = -1
        connecting = false
        readable = false
        pendingWrites.removeAll()
    }

    func descriptorSetOption(_ option: TCPSocketOption, value: Int) -> Result<Void, CosocketError> {
        var raw = CInt(truncatingIfNeeded: value)
        let (level, name) = option.levelAndName
        guard setsockopt(descriptor, level, name, &raw, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            return .failure(.system(errno: errno, partial: ByteBuffer()))
        }
        return .success(())
    }

    func descriptorGetOption(_ option: TCPSocketOption) -> Result<Int, CosocketError> {
        var raw: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        let (level, name) = option.levelAndName
        guard getsockopt(descriptor, level, name, &raw, &length) == 0 else {
            return .failure(.system(errno: errno, partial: ByteBuffer()))
        }
        return .success(Int(raw))
    }
}
#endif
