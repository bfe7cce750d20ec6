#if os(Linux)
import Glibc
import NIOCore

/// TLS on the descriptor transport: the handshake driven by readiness events, then reads and
/// writes through ``TLSStreamTransport`` instead of `read` and `sendmsg`.
extension StreamConnection {
    /// Starts a handshake with `transport` (made for this connection's descriptor); `.done`
    /// or `.failed` when it ended inside the call, else the owner hears of it through
    /// ``StreamConnectionOwner/connectionDidFinishHandshake(_:failure:)``.
    func startTLS(_ transport: TLSStreamTransport) -> TLSStreamTransport.Step {
        tls = transport
        tlsHandshaking = true
        let step = transport.handshake()
        switch step {
        case .wantWrite:
            watchWritable()
            return step
        case .wantRead, .paused:
            return step
        case .done:
            tlsHandshaking = false
            // Records that came with the handshake's last flight (TLS 1.3 tickets) are read
            // now: the edge that announced them is spent.
            readable = true
            readAvailable()
            return step
        case .endOfStream, .failed:
            tlsHandshaking = false
            return step
        }
    }

    /// Whether the peer has closed (or reset) `descriptor`: a peek that finds the end of the
    /// stream or an error other than "nothing yet".
    static func peerClosed(_ descriptor: CInt) -> Bool {
        guard descriptor >= 0 else { return true }
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, CInt(MSG_PEEK | MSG_DONTWAIT))
        if count == 0 { return true }
        return count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
    }

    /// A new TLS transport over this connection's descriptor, for `context`.
    func makeTLS(_ context: TLSContext) -> Result<TLSStreamTransport, TLSStreamTransport.Failure> {
        guard poller != nil, descriptor >= 0, !isClosed else {
            return .failure(TLSStreamTransport.Failure(errno: nil, logMessage: "no descriptor to run TLS on"))
        }
        do {
            return .success(try TLSStreamTransport(context: context, descriptor: descriptor))
        } catch {
            return .failure(error)
        }
    }

    /// A readiness event during the handshake, or a hook that paused it has finished.
    func tlsContinueHandshake() {
        guard let tls, tlsHandshaking else { return }
        if let server = tls.server, server.isWaitingForHook {
            // OpenSSL would only ask for the hook again: what matters now is whether the
            // client is still there (the hook's code is ended when it is not).
            guard peerHungUp || Self.peerClosed(descriptor) else { return }
            tlsHandshaking = false
            owner?.connectionDidFinishHandshake(self, failure: TLSStreamTransport.Failure(
                errno: nil, logMessage: "peer closed connection in SSL handshake"))
            return
        }
        let step = tls.handshake()
        let failure: TLSStreamTransport.Failure?
        switch step {
        case .wantWrite:
            watchWritable()
            return
        case .wantRead, .paused: return
        case .done: failure = nil
        case .endOfStream: failure = TLSStreamTransport.Failure(errno: nil, logMessage: "peer closed connection in SSL handshake")
        case .failed(let reason): failure = reason
        }
        tlsHandshaking = false
        owner?.connectionDidFinishHandshake(self, failure: failure)
        guard failure == nil, !isClosed else { return }
        readable = true
        readAvailable()
    }

    /// One read through TLS into `space`, answered as `read` answers: the byte count, 0 at the
    /// end of the stream, or -1 with `errno` set (EAGAIN: wait for the next edge).
    func tlsRead(_ tls: TLSStreamTransport, into space: UnsafeMutableRawBufferPointer) -> Int {
        switch tls.read(into: space) {
        case .done(let count):
            return count
        case .wantRead, .paused:
            errno = EAGAIN
        case .wantWrite:
            tls.readWaitsForWritable = true
            watchWritable()
            errno = EAGAIN
        case .endOfStream:
            return 0
        case .failed(let failure):
            errno = failure.errno ?? Self.tlsFailureCode
        }
        return -1
    }

    /// Sends `buffers` through TLS, keeping what the socket does not take yet; returns whether
    /// all of it went.
    func tlsWrite<Buffers: Collection<ByteBuffer>>(_ buffers: Buffers) -> Bool {
        let waiting = !pendingWrites.isEmpty
        pendingWrites.append(contentsOf: buffers)
        if waiting { return false }
        return tlsSendPending() == true
    }

    /// Encrypts and sends what waits: true when all went, false when the socket is full (or
    /// OpenSSL must read first), nil when the connection failed.
    func tlsSendPending() -> Bool? {
        guard let tls else { return nil }
        while !pendingWrites.isEmpty {
            if pendingWrites[0].readableBytes == 0 {
                pendingWrites.removeFirst()
                continue
            }
            // A retry after WANT_WRITE passes the same bytes again, as OpenSSL requires.
            switch pendingWrites[0].withUnsafeReadableBytes({ tls.write($0) }) {
            case .done(let count):
                pendingWrites[0].moveReaderIndex(forwardBy: count)
            case .wantWrite, .paused:
                return false
            case .wantRead:
                tls.writeWaitsForReadable = true
                return false
            case .endOfStream, .failed:
                failWrite()
                return nil
            }
        }
        return true
    }
}

#endif
