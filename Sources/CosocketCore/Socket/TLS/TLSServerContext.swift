import COpenSSL
import Glibc

/// An OpenSSL server context (`SSL_CTX`) for one `server {}` with `ssl_*` settings, built the
/// way nginx's http SSL module builds it: the certificate pairs (one per key type, the client's
/// offer choosing among them), protocols, ciphers and server preference, the session cache and
/// timeout, tickets and their keys, client verification, DH parameters, curves and
/// `SSL_CONF_cmd` commands. Errors are nginx's `[emerg]` texts.
///
/// Immutable once built and shared by every worker (OpenSSL contexts are thread-safe): the
/// builtin cache and the ticket keys are therefore the process's, where nginx has them per
/// worker process (its master's keys are inherited, so tickets resume across its workers too).
public final class TLSServerContext: @unchecked Sendable {
    let raw: OpaquePointer
    public let configuration: TLSServerConfiguration
    /// The process-wide store of `ssl_session_cache shared:`.
    public let sharedCache: TLSSharedSessionCache?

    public typealias BuildError = TLSContext.BuildError

    /// `sessionContext` tells sessions of different servers apart (nginx hashes the server's
    /// certificates into it): a session resumes only on a server of the same context.
    public init(_ configuration: TLSServerConfiguration, sessionContext: String) throws(BuildError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw BuildError(description: "SSL_CTX_new() failed\(TLSErrorQueue.nginxSuffix())")
        }
        raw = context
        self.configuration = configuration
        var cache: TLSSharedSessionCache?
        if case .caches(_, let shared?) = configuration.sessionCache {
            cache = TLSSharedSessionCache.named(shared.name, size: shared.size)
        }
        sharedCache = cache
        var options = cosocket_ssl_client_options() | TLSContext.excludedProtocols(configuration.protocols)
        if configuration.preferServerCiphers { options |= cosocket_ssl_op_server_preference() }
        if !configuration.sessionTickets { options |= cosocket_ssl_op_no_ticket() }
        SSL_CTX_set_options(context, options)
        _ = cosocket_ssl_ctx_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        cosocket_ssl_ctx_set_read_ahead(context)
        _ = cosocket_ssl_ctx_set_servername_callback(context) { ssl, alert, _ in
            guard let ssl else { return cosocket_ssl_tlsext_err_ok() }
            return TLSServerHandshake.serverNameArrived(ssl)
        }
        installHookCallbacks()
        for pair in configuration.certificates { try useCertificate(pair) }
        guard SSL_CTX_set_cipher_list(context, configuration.ciphers) == 1 else {
            throw BuildError(description: "SSL_CTX_set_cipher_list(\"\(configuration.ciphers)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
        try configureVerification()
        if let dhparam = configuration.dhparam { try useDHParameters(dhparam) }
        if configuration.ecdhCurve != "auto" {
            guard cosocket_ssl_ctx_set_curves(context, configuration.ecdhCurve) == 1 else {
                throw BuildError(description: "SSL_CTX_set1_curves_list(\"\(configuration.ecdhCurve)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
        }
        configureSessions(sessionContext: sessionContext)
        try useTicketKeys(configuration.ticketKeyFiles)
        try TLSContext.applyConfCommands(configuration.confCommands, to: raw, server: true)
        ERR_clear_error()
    }

    deinit {
        SSL_CTX_free(raw)
    }

    /// The callbacks of the hooks this server has (``TLSServerHooks``).
    private func installHookCallbacks() {
        let hooks = configuration.hooks
        if !hooks.isDisjoint(with: [.clientHello, .sessionFetch]) {
            SSL_CTX_set_client_hello_cb(raw, { ssl, alert, _ in
                guard let ssl else { return 1 }
                return TLSServerHandshake.clientHelloArrived(ssl, alert: alert)
            }, nil)
        }
        if hooks.contains(.certificate) {
            SSL_CTX_set_cert_cb(raw, { ssl, _ in
                guard let ssl else { return 1 }
                return TLSServerHandshake.certificateWanted(ssl)
            }, nil)
        }
    }

    /// `ssl_certificate` and its key, as nginx loads them: the first certificate of the file
    /// with its trust settings, the rest as its chain, then the key, which must match it.
    private func useCertificate(_ pair: TLSServerConfiguration.CertificatePair) throws(BuildError) {
        guard let bio = BIO_new_file(pair.certificate, "r") else {
            throw BuildError(description: "cannot load certificate \"\(pair.certificate)\": BIO_new_file() failed\(TLSErrorQueue.nginxSuffix())")
        }
        defer { BIO_free(bio) }
        guard let leaf = PEM_read_bio_X509_AUX(bio, nil, nil, nil) else {
            throw BuildError(description: "cannot load certificate \"\(pair.certificate)\": PEM_read_bio_X509_AUX() failed\(TLSErrorQueue.nginxSuffix())")
        }
        defer { X509_free(leaf) }
        guard SSL_CTX_use_certificate(raw, leaf) == 1 else {
            throw BuildError(description: "SSL_CTX_use_certificate(\"\(pair.certificate)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
        while let intermediate = PEM_read_bio_X509(bio, nil, nil, nil) {
            guard cosocket_ssl_ctx_add0_chain_cert(raw, intermediate) == 1 else {
                X509_free(intermediate)
                throw BuildError(description: "SSL_CTX_add0_chain_cert(\"\(pair.certificate)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
        }
        ERR_clear_error()
        guard let keyBIO = BIO_new_file(pair.key, "r") else {
            throw BuildError(description: "cannot load certificate key \"\(pair.key)\": BIO_new_file() failed\(TLSErrorQueue.nginxSuffix())")
        }
        defer { BIO_free(keyBIO) }
        guard let key = PEM_read_bio_PrivateKey(keyBIO, nil, nil, nil) else {
            throw BuildError(description: "cannot load certificate key \"\(pair.key)\": PEM_read_bio_PrivateKey() failed\(TLSErrorQueue.nginxSuffix())")
        }
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(raw, key) == 1 else {
            throw BuildError(description: "SSL_CTX_use_PrivateKey(\"\(pair.key)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
    }

    /// `ssl_verify_client`, `ssl_client_certificate`, `ssl_trusted_certificate` and
    /// `ssl_verify_depth`: certificates are asked for and every one passes the handshake; the
    /// request checks the result, as nginx's does.
    private func configureVerification() throws(BuildError) {
        guard configuration.verifyClient != .off else { return }
        cosocket_ssl_ctx_set_verify_peer(raw, 0)
        SSL_CTX_set_verify_depth(raw, Int32(clamping: configuration.verifyDepth))
        if let path = configuration.clientCertificate {
            guard SSL_CTX_load_verify_locations(raw, path, nil) == 1 else {
                throw BuildError(description: "SSL_CTX_load_verify_locations(\"\(path)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
            ERR_clear_error()
            guard let names = SSL_load_client_CA_file(path) else {
                throw BuildError(description: "SSL_load_client_CA_file(\"\(path)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
            SSL_CTX_set_client_CA_list(raw, names)
        }
        if let path = configuration.trustedCertificate {
            guard SSL_CTX_load_verify_locations(raw, path, nil) == 1 else {
                throw BuildError(description: "SSL_CTX_load_verify_locations(\"\(path)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
        }
        ERR_clear_error()
    }

    private func useDHParameters(_ path: String) throws(BuildError) {
        guard let bio = BIO_new_file(path, "r") else {
            throw BuildError(description: "BIO_new_file(\"\(path)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
        defer { BIO_free(bio) }
        guard let parameters = PEM_read_bio_Parameters(bio, nil) else {
            // OpenSSL's reason for text that is no DH PARAMETERS block, in nginx's words.
            ERR_clear_error()
            throw BuildError(description: "PEM_read_bio_DHparams(\"\(path)\") failed (SSL: error:0480006C:PEM routines::no start line:Expecting: DH PARAMETERS)")
        }
        guard SSL_CTX_set0_tmp_dh_pkey(raw, parameters) == 1 else {
            EVP_PKEY_free(parameters)
            throw BuildError(description: "SSL_CTX_set0_tmp_dh_pkey(\"\(path)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
    }

    /// `ssl_session_cache` and `ssl_session_timeout`, as `ngx_ssl_session_cache` sets them.
    private func configureSessions(sessionContext: String) {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let contextBytes = Array(sessionContext.utf8)
        _ = contextBytes.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &digest) }
        _ = SSL_CTX_set_session_id_context(raw, digest, UInt32(digest.count))
        _ = SSL_CTX_set_timeout(raw, Int(configuration.sessionTimeout))
        switch configuration.sessionCache {
        case .off:
            _ = cosocket_ssl_ctx_set_session_cache_mode(raw, Int(SSL_SESS_CACHE_OFF))
        case .none:
            _ = cosocket_ssl_ctx_set_session_cache_mode(raw, Int(SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL))
            installSessionHooks()
        case .caches(let builtin, let shared):
            var mode = Int(SSL_SESS_CACHE_SERVER)
            if builtin == nil, shared != nil { mode |= Int(SSL_SESS_CACHE_NO_INTERNAL) }
            _ = cosocket_ssl_ctx_set_session_cache_mode(raw, mode)
            if let builtin, builtin > 0 { _ = cosocket_ssl_ctx_set_cache_size(raw, builtin) }
            // The Lua hooks replace the shared store's callbacks, as lua-nginx-module's do.
            if installSessionHooks() { return }
            guard shared != nil else { return }
            SSL_CTX_sess_set_new_cb(raw) { ssl, session in
                guard let ssl, let session else { return 0 }
                TLSServerHandshake.of(ssl)?.sessionCache?.store(session)
                return 0
            }
            SSL_CTX_sess_set_get_cb(raw) { ssl, id, length, copy in
                copy?.pointee = 0
                guard let ssl, let id, length > 0, let cache = TLSServerHandshake.of(ssl)?.sessionCache else { return nil }
                return cache.session(id: Array(UnsafeBufferPointer(start: id, count: Int(length))))
            }
            if let cache = sharedCache {
                SSL_CTX_set_ex_data(raw, 0, Unmanaged.passUnretained(cache).toOpaque())
                SSL_CTX_sess_set_remove_cb(raw) { context, session in
                    guard let context, let session, let pointer = SSL_CTX_get_ex_data(context, 0) else { return }
                    Unmanaged<TLSSharedSessionCache>.fromOpaque(pointer).takeUnretainedValue()
                        .remove(id: TLSSharedSessionCache.identifier(of: session))
                }
            }
        }
    }

    /// `ssl_session_fetch_by_lua*` and `ssl_session_store_by_lua*`: the lookup answers with
    /// what the fetch hook loaded (it ran in the client-hello callback, which can wait), and
    /// each new session goes to the store hook. Whether either was installed.
    @discardableResult
    private func installSessionHooks() -> Bool {
        let hooks = configuration.hooks
        if hooks.contains(.sessionFetch) {
            SSL_CTX_sess_set_get_cb(raw) { ssl, _, _, copy in
                copy?.pointee = 0
                guard let ssl else { return nil }
                return TLSServerHandshake.fetchedSession(ssl)
            }
        }
        if hooks.contains(.sessionStore) {
            SSL_CTX_sess_set_new_cb(raw) { ssl, session in
                guard let ssl, let session else { return 0 }
                TLSServerHandshake.sessionCreated(ssl, session)
                return 0
            }
        }
        return !hooks.isDisjoint(with: [.sessionFetch, .sessionStore])
    }

    /// `ssl_session_ticket_key`: files of 48 or 80 bytes (checked by the directive).
    private func useTicketKeys(_ paths: [String]) throws(BuildError) {
        guard !paths.isEmpty, configuration.sessionTickets else { return }
        var bytes: [UInt8] = []
        var sizes: [Int32] = []
        for path in paths {
            guard let contents = FileContents.read(path), contents.count == 48 || contents.count == 80 else {
                throw BuildError(description: "\"\(path)\" must be 48 or 80 bytes")
            }
            bytes += contents
            sizes.append(Int32(contents.count))
        }
        guard cosocket_ssl_ctx_set_ticket_key_files(raw, bytes, sizes, Int32(sizes.count)) == 1 else {
            throw BuildError(description: "SSL_CTX_set_tlsext_ticket_key_evp_cb() failed\(TLSErrorQueue.nginxSuffix())")
        }
    }
}
