import NIOCore

/// What a TLS handshake asks for (`sslhandshake`'s arguments).
public struct TLSHandshakeOptions: Sendable {
    /// SNI, and (when verifying) the name the certificate must carry; nil or empty: neither.
    public var serverName: String?
    /// Verify the peer's certificate; nil: the location's `lua_ssl_verify_default`.
    public var verify: Bool?
    /// A session to resume.
    public var session: TLSSession?
    /// Ask for a stapled OCSP response.
    public var statusRequest = false
    /// The client certificate and key to present instead of `lua_ssl_certificate`'s.
    public var clientCertificate: (chain: TLSCertificateChain, key: TLSPrivateKey)?

    public init(serverName: String? = nil, verify: Bool? = nil, session: TLSSession? = nil) {
        self.serverName = serverName
        self.verify = verify
        self.session = session
    }
}

/// The TLS handshake (`tcpsock:sslhandshake`): an operation of the socket's state machine with
/// the connect timeout, run by the connection's ``TLSStreamTransport``.
extension StreamSocket {
    /// Whether the connection already speaks TLS (a pooled one that did its handshake).
    public var isTLSEstablished: Bool {
        #if os(Linux)
        return connection?.tls?.isEstablished ?? false
        #else
        return false
        #endif
    }

    /// Runs a TLS handshake on the connection; nil means the result comes through the
    /// delegate's ``StreamSocketDelegate/socketDidHandshake(_:result:)``. On a connection
    /// that already did one (taken from the pool) it returns the connection's session at once.
    /// A failure closes the connection.
    public func tlsHandshake(_ options: TLSHandshakeOptions) -> Result<TLSSession, CosocketError>? {
        switch machine.handshakeDecision() {
        case .refuse(let error): return .failure(error)
        case .refuseDownstream: return .failure(.badArgument("not supported for downstream"))
        case .proceed: break
        }
        #if os(Linux)
        guard let connection else { return .failure(.closedEmpty) }
        if let tls = connection.tls, tls.isEstablished { return .success(tls.session) }
        let context: TLSContext
        switch engine.tlsContext(for: defaults.tls) {
        case .success(let built): context = built
        case .failure(let error): return failHandshake(connection, .tlsHandshakeFailed(log: error.description))
        }
        let transport: TLSStreamTransport
        switch connection.makeTLS(context) {
        case .success(let made): transport = made
        case .failure(let failure): return failHandshake(connection, .tlsHandshakeFailed(log: failure.logMessage))
        }
        if let name = options.serverName, !name.isEmpty, !transport.setServerName(name) {
            return failHandshake(connection, .tlsHandshakeFailed(log: "SSL_set_tlsext_host_name(\"\(name)\") failed"))
        }
        if let session = options.session, !transport.resume(session) {
            return failHandshake(connection, .tlsHandshakeFailed(log: "SSL_set_session() failed"))
        }
        if options.statusRequest { transport.requestStatus() }
        if let client = options.clientCertificate, !transport.useClientCertificate(client.chain, key: client.key) {
            return failHandshake(connection, .tlsHandshakeFailed(log: "failed to set the client certificate"))
        }
        switch connection.startTLS(transport) {
        case .wantRead, .wantWrite, .paused:
            handshake = options
            arm(machine.handshakeWaits(until: .now() + (timeouts.connect ?? defaults.connectTimeout)))
            return nil
        case .done:
            return handshakeCompleted(connection, transport, options)
        case .endOfStream:
            return failHandshake(connection, .tlsHandshakeFailed(log: "peer closed connection in SSL handshake"))
        case .failed(let failure):
            return failHandshake(connection, .tlsHandshakeFailed(log: failure.logMessage))
        }
        #else
        return .failure(.tlsHandshakeFailed(log: "TLS needs the descriptor transport"))
        #endif
    }

    #if os(Linux)
    /// The handshake completed: the verification asked for decides.
    private func handshakeCompleted(
        _ connection: StreamConnection, _ transport: TLSStreamTransport, _ options: TLSHandshakeOptions
    ) -> Result<TLSSession, CosocketError> {
        if options.verify ?? defaults.tls.verifiesByDefault {
            let verified = transport.verifyResult
            if verified.code != 0 {
                return failHandshake(connection, .tlsVerifyFailed(code: verified.code, reason: verified.text))
            }
            if let name = options.serverName, !name.isEmpty, !transport.certificateMatches(host: name) {
                return failHandshake(connection, .tlsHostMismatch(host: name))
            }
        }
        return .success(transport.session)
    }

    /// The reference closes the connection of a failed handshake.
    private func failHandshake(_ connection: StreamConnection, _ error: CosocketError) -> Result<TLSSession, CosocketError> {
        release(connection, closing: true)
        return .failure(error)
    }

    /// The connection finished a handshake left in progress.
    func handshakeFinished(_ connection: StreamConnection, failure: TLSStreamTransport.Failure?) {
        guard let options = handshake, connection === self.connection, machine.handshakeEnded() else { return }
        handshake = nil
        let result: Result<TLSSession, CosocketError>
        if let failure {
            result = failHandshake(connection, .tlsHandshakeFailed(log: failure.logMessage))
        } else if let transport = connection.tls {
            result = handshakeCompleted(connection, transport, options)
        } else {
            result = failHandshake(connection, .closedEmpty)
        }
        delegate?.socketDidHandshake(self, result: result)
    }
    #endif

    /// The handshake outlived the connect timeout: `timeout`, and the connection closes.
    func handshakeTimedOut() {
        guard machine.handshakeEnded(), let connection else { return }
        handshake = nil
        release(connection, closing: true)
        delegate?.socketDidHandshake(self, result: .failure(.timeoutEmpty))
    }
}

#if os(Linux)
extension StreamSocket {
    func connectionDidFinishHandshake(_ connection: StreamConnection, failure: TLSStreamTransport.Failure?) {
        handshakeFinished(connection, failure: failure)
    }
}
#endif
