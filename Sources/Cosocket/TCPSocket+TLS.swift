import CosocketCore

extension TCPSocket {
    /// Runs a TLS handshake on the connection (`sslhandshake`), with the connect timeout.
    ///
    /// - Parameters:
    ///   - serverName: sent as SNI; with verification, the name the certificate must carry (a
    ///     DNS name, or an IP address's subjectAltName entry).
    ///   - verify: check the certificate chain against the engine's trusted CAs
    ///     (``TLSConfiguration/trustedCertificate``) and the name; nil: the configuration's
    ///     ``TLSConfiguration/verifiesByDefault``.
    ///   - session: a session an earlier handshake returned, to resume.
    /// - Returns: this connection's session, for a later handshake to resume. A TLS 1.3 ticket
    ///   the server sends after the handshake still reaches it.
    /// - Throws: ``CosocketError/tlsHandshakeFailed(log:)``, ``CosocketError/tlsVerifyFailed(code:reason:)``,
    ///   ``CosocketError/tlsHostMismatch(host:)``, ``CosocketError/timeout(partial:)``, or
    ///   `closed`/`busy` as the socket's other operations; every failure closes the connection.
    ///   A connection taken from the pool that already speaks TLS returns its session at once.
    @discardableResult
    public func tlsHandshake(
        serverName: String? = nil, verify: Bool? = nil, session: TLSSession? = nil,
        clientCertificate: (chain: TLSCertificateChain, key: TLSPrivateKey)? = nil
    ) async throws(CosocketError) -> TLSSession {
        var options = TLSHandshakeOptions(serverName: serverName, verify: verify, session: session)
        options.clientCertificate = clientCertificate
        let request = options
        return try await onLoop(
            immediate: { $0.tlsHandshake(request) },
            park: { self.handshakeContinuation = $0 }
        ).get()
    }

    /// Whether the connection speaks TLS (a handshake completed on it, here or before it was pooled).
    public var isTLS: Bool { get async { await LoopHop.run(on: eventLoop, socket) { $0.isTLSEstablished } } }
}
