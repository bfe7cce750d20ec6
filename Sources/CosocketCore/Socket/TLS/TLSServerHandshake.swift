#if os(Linux)
import COpenSSL

/// The server side of one accepted connection's handshake: the context it started with (the
/// address's default server's), the one SNI switched it to, the shared session store of
/// the first (OpenSSL caches sessions in the context a handshake started with, as nginx's
/// do), and the hooks that run inside it (``TLSServerHooks``). Confined to the connection's
/// loop.
public final class TLSServerHandshake {
    /// The context of the server the handshake is for, so far.
    public private(set) var current: TLSServerContext
    /// Where `ssl_session_cache shared:` sessions go (the initial context's).
    let sessionCache: TLSSharedSessionCache?
    /// The server for an SNI name, as nginx finds it (`server_name`), if it has TLS.
    private let chooseContext: (String) -> TLSServerContext?
    /// The name the client sent (SNI), once it has.
    public private(set) var serverName: String?
    /// The code run inside the handshake, for the hooks its servers have.
    let hooks: (any TLSServerHooks)?
    private var progress = TLSHookProgress()
    /// Goes on with the handshake once a waiting hook has finished (the stream sets it).
    var resume: (() -> Void)?
    /// Told once, when the connection ends while a hook runs: the hook's code should end.
    public var onAbandon: (() -> Void)?
    /// The connection's `SSL`, while the connection lives (the hooks' API acts on it).
    public internal(set) var ssl: OpaquePointer?
    /// The connection's descriptor, while it lives (for the hooks' address functions).
    public internal(set) var descriptor: CInt = -1
    /// The session ID the ClientHello offered (what `ssl_session_fetch_by_lua*` looks up).
    public private(set) var offeredSessionID: [UInt8] = []
    /// The session the fetch hook loaded (one reference, ours until OpenSSL takes it).
    private var fetchedSession: OpaquePointer?
    /// The session being stored, during ``TLSServerHooks/storeSession(for:)``.
    public private(set) var newSession: OpaquePointer?

    public init(
        context: TLSServerContext, hooks: (any TLSServerHooks)? = nil,
        chooseContext: @escaping (String) -> TLSServerContext?
    ) {
        current = context
        sessionCache = context.sharedCache
        self.hooks = hooks
        self.chooseContext = chooseContext
    }

    deinit {
        if let fetchedSession { SSL_SESSION_free(fetchedSession) }
    }

    /// A hook waits: the handshake is paused until it finishes.
    public var isWaitingForHook: Bool { progress.waitingFor != nil }

    /// The hook the handshake waited for ended; the handshake goes on (from the loop, outside
    /// OpenSSL). A second report, or one after the connection ended, is ignored.
    public func hookFinished(ok: Bool) {
        guard progress.finish(ok: ok), ssl != nil else { return }
        resume?()
    }

    /// `ngx.ssl.session.set_serialized_session`: the session to resume, in DER.
    public func setFetchedSession(_ der: [UInt8]) -> Bool {
        let session: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_SSL_SESSION(nil, &cursor, buffer.count)
        }
        guard let session else {
            ERR_clear_error()
            return false
        }
        if let fetchedSession { SSL_SESSION_free(fetchedSession) }
        fetchedSession = session
        return true
    }

    /// The connection ended (its transport is gone): a running hook is told to end.
    func connectionEnded() {
        ssl = nil
        descriptor = -1
        resume = nil
        guard let abandoned = onAbandon else { return }
        onAbandon = nil
        abandoned()
    }

    /// Where OpenSSL's callback for `point` stands: a hook not run yet starts now.
    private func step(_ point: TLSHookPoint) -> TLSHookProgress.Answer {
        let answer = progress.answer(at: point)
        guard answer == .start else { return answer }
        guard let hooks else { return .proceed }
        let outcome = hooks.run(point, for: self)
        return progress.started(point, outcome: outcome)
    }

    /// The handshake of `ssl`, if it is a client connection's.
    static func of(_ ssl: OpaquePointer) -> TLSServerHandshake? {
        guard let pointer = SSL_get_ex_data(ssl, 0) else { return nil }
        return Unmanaged<TLSStreamTransport>.fromOpaque(pointer).takeUnretainedValue().server
    }

    /// OpenSSL's servername callback: the server named by SNI takes the handshake, with its
    /// certificates, verification and options (nginx's `ngx_http_ssl_servername`).
    static func serverNameArrived(_ ssl: OpaquePointer) -> Int32 {
        guard let handshake = of(ssl), let pointer = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
            return cosocket_ssl_tlsext_err_ok()
        }
        let name = String(cString: pointer).lowercased()
        handshake.serverName = name
        guard let context = handshake.chooseContext(name), context !== handshake.current else {
            return cosocket_ssl_tlsext_err_ok()
        }
        handshake.current = context
        _ = SSL_set_SSL_CTX(ssl, context.raw)
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(context.raw), SSL_CTX_get_verify_callback(context.raw))
        SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(context.raw))
        SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(context.raw))
        SSL_set_options(ssl, SSL_CTX_get_options(context.raw))
        return cosocket_ssl_tlsext_err_ok()
    }

    /// OpenSSL's client-hello callback: `ssl_client_hello_by_lua*`, then, when the hello
    /// offers a session ID, `ssl_session_fetch_by_lua*`. OpenSSL's session lookup cannot wait,
    /// but this callback can (it is called again after a retry), and it comes before the
    /// lookup: the fetch runs here, and the lookup takes what it loaded.
    static func clientHelloArrived(_ ssl: OpaquePointer, alert: UnsafeMutablePointer<Int32>?) -> Int32 {
        guard let handshake = of(ssl) else { return 1 }
        let hooks = handshake.current.configuration.hooks
        if hooks.contains(.clientHello) {
            switch handshake.step(.clientHello) {
            case .retry: return -1
            case .fail:
                alert?.pointee = Int32(SSL_AD_INTERNAL_ERROR)
                return 0
            case .proceed, .start: break
            }
        }
        if hooks.contains(.sessionFetch) {
            var id: UnsafePointer<UInt8>?
            let length = SSL_client_hello_get0_session_id(ssl, &id)
            if length > 0, let id {
                if handshake.offeredSessionID.isEmpty {
                    handshake.offeredSessionID = Array(UnsafeBufferPointer(start: id, count: length))
                }
                // A failed fetch is a full handshake, as a lookup that found nothing.
                if handshake.step(.sessionFetch) == .retry { return -1 }
            }
        }
        return 1
    }

    /// OpenSSL's certificate callback: `ssl_certificate_by_lua*` of the server SNI chose.
    static func certificateWanted(_ ssl: OpaquePointer) -> Int32 {
        guard let handshake = of(ssl), handshake.current.configuration.hooks.contains(.certificate) else { return 1 }
        switch handshake.step(.certificate) {
        case .proceed, .start: return 1
        case .fail: return 0
        case .retry: return -1
        }
    }

    /// OpenSSL's session lookup, with `ssl_session_fetch_by_lua*`: the session the fetch
    /// loaded (OpenSSL takes our reference), if any.
    static func fetchedSession(_ ssl: OpaquePointer) -> OpaquePointer? {
        guard let handshake = of(ssl), let session = handshake.fetchedSession else { return nil }
        handshake.fetchedSession = nil
        return session
    }

    /// OpenSSL's new-session callback, with `ssl_session_store_by_lua*`.
    static func sessionCreated(_ ssl: OpaquePointer, _ session: OpaquePointer) {
        guard let handshake = of(ssl), let hooks = handshake.hooks else { return }
        handshake.newSession = session
        hooks.storeSession(for: handshake)
        handshake.newSession = nil
    }
}

/// What the request variables tell of a client connection's TLS (`$ssl_protocol`,
/// `$ssl_cipher`, `$ssl_server_name`, `$ssl_session_reused`, `$ssl_client_verify`,
/// `$ssl_client_s_dn`), read once when its handshake completes.
public struct TLSConnectionDetails: Sendable {
    public var protocolName: String
    public var cipher: String
    public var serverName: String?
    public var sessionReused: Bool
    /// `SUCCESS`, `FAILED:reason` or `NONE` (no certificate sent).
    public var clientVerify: String
    /// The verify error code (0 when it passed or none was sent).
    public var clientVerifyCode: Int
    public var clientSubject: String?
    /// `ssl_verify_client` of the server the handshake ended with.
    public var verifyClient: TLSServerConfiguration.VerifyClient
}

extension TLSConnectionDetails {
    /// nginx's refusal of the client's certificate for `ssl_verify_client` (checked with each
    /// request's head): 495 for one that did not verify, 496 for none where one is required.
    public var clientCertificateRefusal: Int? {
        switch verifyClient {
        case .off: return nil
        case .on, .optional, .optionalNoCA:
            if clientVerify == "NONE" { return verifyClient == .on ? 496 : nil }
            guard clientVerifyCode != 0 else { return nil }
            if verifyClient == .optionalNoCA, Self.caErrors.contains(Int32(clientVerifyCode)) { return nil }
            return 495
        }
    }

    /// The verify errors `optional_no_ca` lets through (nginx's `ngx_ssl_verify_error_optional`).
    private static let caErrors: Set<Int32> = [
        X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,
    ]
}

extension TLSStreamTransport {
    /// The finished handshake's details (a server-side transport's).
    func serverDetails() -> TLSConnectionDetails {
        let protocolName = SSL_get_version(ssl).map { String(cString: $0) } ?? ""
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? ""
        var verify = "NONE"
        var code = 0
        var subject: String?
        if let certificate = SSL_get1_peer_certificate(ssl) {
            defer { X509_free(certificate) }
            code = SSL_get_verify_result(ssl)
            verify = code == Int(X509_V_OK) ? "SUCCESS" : "FAILED:" + String(cString: X509_verify_cert_error_string(code))
            subject = Self.distinguishedName(X509_get_subject_name(certificate))
        }
        return TLSConnectionDetails(
            protocolName: protocolName, cipher: cipher, serverName: server?.serverName, sessionReused: resumedSession,
            clientVerify: verify, clientVerifyCode: code, clientSubject: subject,
            verifyClient: server?.current.configuration.verifyClient ?? .off)
    }

    /// A name in RFC 2253 form, as nginx's `$ssl_client_s_dn` prints it.
    static func distinguishedName(_ name: OpaquePointer?) -> String? {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, cosocket_xn_flag_rfc2253()) >= 0 else { return nil }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = cosocket_bio_get_mem_data(bio, &pointer)
        guard length > 0, let pointer else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
#endif
