#if os(Linux)

/// HTTPS: the server side of TLS on an accepted client connection, driven on the worker's
/// readiness set exactly as a cosocket's client handshake is (``StreamConnection/startTLS(_:)``).
/// Until the handshake completes no bytes reach the delegate; then they arrive decrypted.
extension AcceptedStream {
    /// Starts the handshake; false (the stream closed) when it could not start or failed at
    /// once. The delegate hears of completion through
    /// ``AcceptedStreamDelegate/streamDidFinishHandshake(_:)``.
    public func startTLS(_ handshake: TLSServerHandshake) -> Bool {
        let transport: TLSStreamTransport
        do {
            transport = try TLSStreamTransport(server: handshake, descriptor: connection.descriptor)
        } catch {
            close()
            return false
        }
        // The first step runs as a readiness event's would: a handshake that completes in it
        // tells the delegate before any request bytes are read.
        connection.tls = transport
        connection.tlsHandshaking = true
        // A hook that paused the handshake goes on from the loop once its code has ended. Not
        // weak (a weak reference gives the connection a side table, which made every retain
        // and release of it slow for the connection's life): the transport, which only the
        // connection holds, clears `resume` when it goes (`connectionEnded`), and
        // `hookFinished` calls it only while the connection's `SSL` lives.
        var connectionCheck = UnownedReferenceCheck()
        connectionCheck.track(connection)
        handshake.resume = { [unowned(unsafe) connection, connectionCheck] in
            connectionCheck.verify()
            connection.tlsContinueHandshake()
        }
        connection.tlsContinueHandshake()
        return !isClosed
    }

    /// The server side of the connection's TLS (its hooks' view of the handshake), if any.
    public var tlsHandshake: TLSServerHandshake? { connection.tls?.server }

    /// The client connection's TLS, once its handshake completed.
    public var tlsDetails: TLSConnectionDetails? {
        guard let tls = connection.tls, tls.isEstablished, tls.server != nil else { return nil }
        return tls.serverDetails()
    }

    /// Whether the connection runs TLS (its handshake begun).
    public var isTLS: Bool { connection.tls != nil }

    func handshakeFinished(failure: TLSStreamTransport.Failure?) {
        if let failure {
            delegate?.streamDidFailHandshake(self, reason: failure.logMessage)
            close()
            return
        }
        delegate?.streamDidFinishHandshake(self)
    }
}
#endif
