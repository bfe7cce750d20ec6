#if os(Linux)
import COpenSSL
import Glibc

/// One connection's TLS: an OpenSSL `SSL` reading and writing its records straight on the
/// connection's non-blocking descriptor (through a descriptor BIO that sends with
/// MSG_NOSIGNAL), driven by the descriptor transport's readiness events. A step that cannot
/// go on says which readiness it waits for (`WANT_READ`, `WANT_WRITE`); the transport retries
/// it when the readiness set reports that. No memory BIO and no copy beyond OpenSSL's own.
///
/// Owned by its ``StreamConnection``, so a pooled connection keeps its TLS state.
final class TLSStreamTransport {
    let ssl: OpaquePointer
    /// Keeps the `SSL_CTX` alive as long as the `SSL` (a ``TLSContext``, or the
    /// ``TLSServerContext`` a client connection was accepted with).
    private let contextOwner: AnyObject
    /// A client connection's server side (SNI, the session store, the handshake's Lua
    /// handlers); nil on a cosocket's.
    var server: TLSServerHandshake?
    /// The session of this connection, handed to whoever asks; later tickets replace its
    /// content (see ``TLSSession``).
    let session = TLSSession()
    /// The handshake has completed.
    private(set) var isEstablished = false
    /// The read step waits for the socket to become writable, or the write step for it to
    /// become readable (a key update, a renegotiation refused).
    var readWaitsForWritable = false
    var writeWaitsForReadable = false
    /// The handshake's last step waits for the socket to become writable (else readable).
    private(set) var handshakeWaitsForWritable = false
    /// A read met the end of the stream (the peer's close_notify or its FIN): no close_notify
    /// goes back, as nginx's `no_send_shutdown` skips it then.
    private(set) var peerEnded = false

    /// How a step of the handshake, a read or a write went.
    enum Step: Equatable {
        /// Bytes read or written (0 for a handshake that completed).
        case done(Int)
        case wantRead
        case wantWrite
        /// A server handshake waits for a hook's code (``TLSServerHooks``), not the socket.
        case paused
        /// The peer ended the stream (close_notify, or a bare FIN, which nginx reads the same).
        case endOfStream
        case failed(Failure)
    }

    /// A failure, with the line nginx would log for it.
    struct Failure: Error, Equatable {
        /// The system error, if one caused it.
        var errno: Int32?
        var logMessage: String
    }

    init(context: TLSContext, descriptor: CInt) throws(Failure) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.raw) else {
            throw Failure(errno: nil, logMessage: "SSL_new() failed\(TLSErrorQueue.nginxSuffix())")
        }
        self.ssl = ssl
        self.contextOwner = context
        guard cosocket_ssl_attach_descriptor(ssl, descriptor) == 1 else {
            throw Failure(errno: nil, logMessage: "BIO_new() failed\(TLSErrorQueue.nginxSuffix())")
        }
        SSL_set_connect_state(ssl)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
    }

    /// The server side of an accepted client connection, starting with `server`'s context
    /// (the default server's of the address; SNI may switch it).
    init(server: TLSServerHandshake, descriptor: CInt) throws(Failure) {
        ERR_clear_error()
        guard let ssl = SSL_new(server.current.raw) else {
            throw Failure(errno: nil, logMessage: "SSL_new() failed\(TLSErrorQueue.nginxSuffix())")
        }
        self.ssl = ssl
        self.contextOwner = server.current
        self.server = server
        guard cosocket_ssl_attach_descriptor(ssl, descriptor) == 1 else {
            throw Failure(errno: nil, logMessage: "BIO_new() failed\(TLSErrorQueue.nginxSuffix())")
        }
        SSL_set_accept_state(ssl)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        server.ssl = ssl
        server.descriptor = descriptor
    }

    deinit {
        server?.connectionEnded()
        SSL_set_ex_data(ssl, 0, nil)
        SSL_free(ssl)
    }

    // MARK: Before the handshake

    /// SNI: the name sent in the ClientHello.
    func setServerName(_ name: String) -> Bool {
        cosocket_ssl_set_host_name(ssl, name) == 1
    }

    /// Resumes `session` if it holds a resumable one.
    func resume(_ session: TLSSession) -> Bool {
        guard let raw = session.raw else { return true }
        return SSL_set_session(ssl, raw) == 1
    }

    /// Asks the server for a stapled OCSP response (`send_status_req`).
    func requestStatus() {
        _ = cosocket_ssl_set_status_request(ssl)
    }

    /// Presents `certificate` (with its chain) and `key` instead of the context's.
    func useClientCertificate(_ certificate: TLSCertificateChain, key: TLSPrivateKey) -> Bool {
        guard let leaf = certificate.certificates.first, SSL_use_certificate(ssl, leaf) == 1 else { return false }
        for intermediate in certificate.certificates.dropFirst() where cosocket_ssl_add1_chain_cert(ssl, intermediate) != 1 {
            return false
        }
        return SSL_use_PrivateKey(ssl, key.raw) == 1 && SSL_check_private_key(ssl) == 1
    }

    // MARK: Steps

    /// Goes on with the handshake.
    func handshake() -> Step {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isEstablished = true
            adoptEstablishedSession()
            return .done(0)
        }
        let code = SSL_get_error(ssl, result)
        let systemError = errno
        handshakeWaitsForWritable = code == SSL_ERROR_WANT_WRITE
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_WANT_CLIENT_HELLO_CB, SSL_ERROR_WANT_X509_LOOKUP: return .paused
        case SSL_ERROR_ZERO_RETURN:
            return .failed(Failure(errno: nil, logMessage: "peer closed connection in SSL handshake"))
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            let suffix = systemError != 0 ? " (\(systemError): \(String(cString: strerror(systemError))))" : ""
            return .failed(Failure(errno: systemError != 0 ? systemError : nil, logMessage: "peer closed connection in SSL handshake\(suffix)"))
        default:
            return .failed(Failure(errno: nil, logMessage: "SSL_do_handshake() failed\(TLSErrorQueue.nginxSuffix())"))
        }
    }

    /// Decrypts into `space`.
    func read(into space: UnsafeMutableRawBufferPointer) -> Step {
        ERR_clear_error()
        let count = SSL_read(ssl, space.baseAddress, Int32(clamping: space.count))
        if count > 0 { return .done(Int(count)) }
        let step = ioFailure(SSL_get_error(ssl, count), errno, operation: "SSL_read()")
        if step == .endOfStream { peerEnded = true }
        return step
    }

    /// Encrypts `bytes` (partial writes: the count taken).
    func write(_ bytes: UnsafeRawBufferPointer) -> Step {
        guard !bytes.isEmpty else { return .done(0) }
        ERR_clear_error()
        let count = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if count > 0 { return .done(Int(count)) }
        return ioFailure(SSL_get_error(ssl, count), errno, operation: "SSL_write()")
    }

    private func ioFailure(_ code: Int32, _ systemError: Int32, operation: String) -> Step {
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .endOfStream
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            if systemError == 0 { return .endOfStream }
            return .failed(Failure(errno: systemError, logMessage: "\(operation) failed (\(systemError): \(String(cString: strerror(systemError))))"))
        default:
            return .failed(Failure(errno: nil, logMessage: "\(operation) failed\(TLSErrorQueue.nginxSuffix())"))
        }
    }

    /// Sends close_notify if the socket takes it now (nginx does not wait for the peer's), unless
    /// the peer has ended the stream.
    func shutdown() {
        guard isEstablished else { return }
        // A quiet shutdown marks both directions done without sending: the session stays
        // resumable (OpenSSL drops the session of an SSL freed without a shutdown).
        if peerEnded { SSL_set_quiet_shutdown(ssl, 1) }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// Bytes OpenSSL holds that no read has taken yet, decrypted or still in records (read-ahead
    /// takes whatever the kernel has, so records may wait whole in OpenSSL's buffer).
    var hasPendingBytes: Bool { SSL_has_pending(ssl) == 1 }

    /// A read now would only meet EAGAIN: OpenSSL holds nothing and the descriptor's last read
    /// came up short, with no readiness event since (see `cosocket_bio_state`).
    var inputDrained: Bool { cosocket_ssl_input_drained(ssl) == 1 }

    /// A readiness event came: the next read goes to the kernel again.
    func noteReadable() {
        cosocket_ssl_note_readable(ssl)
    }

    // MARK: After the handshake

    /// The handshake resumed an earlier session.
    var resumedSession: Bool { SSL_session_reused(ssl) == 1 }

    /// OpenSSL's verify result (`X509_V_OK` is 0) and its text.
    var verifyResult: (code: Int, text: String) {
        let code = SSL_get_verify_result(ssl)
        return (code, String(cString: X509_verify_cert_error_string(code)))
    }

    /// Whether the peer's certificate names `host`: a DNS name, or an IP address's subjectAltName
    /// entry when `host` is an IP literal (nginx 1.22 checks DNS names only).
    func certificateMatches(host: String) -> Bool {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return false }
        defer { X509_free(certificate) }
        if Self.isIPLiteral(host) { return X509_check_ip_asc(certificate, host, 0) == 1 }
        return X509_check_host(certificate, host, host.utf8.count, 0, nil) == 1
    }

    static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// A TLS 1.2 handshake (or a resumed one) has its session at the end; a TLS 1.3 one gets
    /// tickets later, through ``sessionArrived(_:_:)``.
    private func adoptEstablishedSession() {
        guard !session.isResumable, let current = SSL_get1_session(ssl) else { return }
        if SSL_SESSION_is_resumable(current) == 1 {
            session.replace(with: current)
        } else {
            SSL_SESSION_free(current)
        }
    }

    /// OpenSSL's new-session callback: `session` (one reference, ours if we keep it) belongs
    /// to the transport of `ssl`.
    static func sessionArrived(_ ssl: OpaquePointer, _ session: OpaquePointer) -> Bool {
        guard let pointer = SSL_get_ex_data(ssl, 0) else { return false }
        let transport = Unmanaged<TLSStreamTransport>.fromOpaque(pointer).takeUnretainedValue()
        transport.session.replace(with: session)
        return true
    }
}
#endif

extension TLSErrorQueue {
    /// nginx's `(SSL: error:... error:...:data)` suffix for the queued errors, which it clears.
    static func nginxSuffix() -> String {
        var text = ""
        while true {
            var data: UnsafePointer<CChar>?
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            text += " " + String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if flags & ERR_TXT_STRING != 0, let data, data.pointee != 0 { text += ":" + String(cString: data) }
        }
        return text.isEmpty ? "" : " (SSL:\(text))"
    }
}
