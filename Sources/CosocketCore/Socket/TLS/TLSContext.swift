import COpenSSL

/// An OpenSSL client context (`SSL_CTX`) built from a ``TLSConfiguration`` the way
/// lua-nginx-module builds a location's: nginx's client options, the protocols and ciphers,
/// `SSL_CONF_cmd` commands, the trusted CAs with the verify depth, the CRL, and the client
/// certificate. Verification never fails a handshake inside OpenSSL (nginx's callback accepts
/// every certificate); the socket checks ``TLSStreamTransport/verifyResult`` afterwards when
/// the caller asked for verification, so the verify codes are OpenSSL's own.
///
/// Contexts are immutable once built and shared by the sockets of an engine
/// (``CosocketEngine/tlsContext(for:)``).
public final class TLSContext: @unchecked Sendable {
    let raw: OpaquePointer

    /// Why a context could not be built: nginx's words for it, with OpenSSL's reason.
    public struct BuildError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(_ configuration: TLSConfiguration) throws(BuildError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw BuildError(description: "SSL_CTX_new() failed\(TLSErrorQueue.nginxSuffix())")
        }
        raw = context
        SSL_CTX_set_options(context, cosocket_ssl_client_options() | Self.excludedProtocols(configuration.protocols))
        _ = cosocket_ssl_ctx_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
        cosocket_ssl_ctx_set_read_ahead(context)
        // Sessions reach ``TLSStreamTransport`` through the new-session callback: TLS 1.3 tickets
        // come after the handshake, in records read later.
        _ = cosocket_ssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
        SSL_CTX_sess_set_new_cb(context, { ssl, session in
            guard let ssl, let session else { return 0 }
            return TLSStreamTransport.sessionArrived(ssl, session) ? 1 : 0
        })
        guard SSL_CTX_set_cipher_list(context, configuration.ciphers) == 1 else {
            throw BuildError(description: "SSL_CTX_set_cipher_list(\"\(configuration.ciphers)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
        try Self.applyConfCommands(configuration.confCommands, to: raw, server: false)
        if let trusted = configuration.trustedCertificate {
            cosocket_ssl_ctx_set_verify_accepting(context)
            SSL_CTX_set_verify_depth(context, Int32(clamping: configuration.verifyDepth))
            guard SSL_CTX_load_verify_locations(context, trusted, nil) == 1 else {
                throw BuildError(description: "SSL_CTX_load_verify_locations(\"\(trusted)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
        }
        if let crl = configuration.crl { try loadCRL(crl) }
        if let certificate = configuration.certificate {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw BuildError(description: "cannot load certificate \"\(certificate)\"\(TLSErrorQueue.nginxSuffix())")
            }
            let key = configuration.certificateKey ?? certificate
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw BuildError(description: "cannot load certificate key \"\(key)\"\(TLSErrorQueue.nginxSuffix())")
            }
        }
        ERR_clear_error()
    }

    deinit {
        SSL_CTX_free(raw)
    }

    /// The `SSL_OP_NO_*` options for the versions not in `protocols`.
    static func excludedProtocols(_ protocols: Set<TLSConfiguration.ProtocolVersion>) -> UInt64 {
        var options: UInt64 = 0
        for version in TLSConfiguration.ProtocolVersion.allCases where !protocols.contains(version) {
            switch version {
            case .sslv2: options |= cosocket_ssl_op_no_sslv2()
            case .sslv3: options |= cosocket_ssl_op_no_sslv3()
            case .tlsv1: options |= cosocket_ssl_op_no_tlsv1()
            case .tlsv1_1: options |= cosocket_ssl_op_no_tlsv1_1()
            case .tlsv1_2: options |= cosocket_ssl_op_no_tlsv1_2()
            case .tlsv1_3: options |= cosocket_ssl_op_no_tlsv1_3()
            }
        }
        return options
    }

    /// `lua_ssl_conf_command` / `ssl_conf_command`: OpenSSL's `SSL_CONF_cmd` on `context`, as
    /// nginx's `ngx_ssl_conf_commands` runs them (`server` picks the server-side flags).
    static func applyConfCommands(_ commands: [TLSConfiguration.ConfCommand], to context: OpaquePointer, server: Bool) throws(BuildError) {
        guard !commands.isEmpty else { return }
        guard let conf = SSL_CONF_CTX_new() else { throw BuildError(description: "SSL_CONF_CTX_new() failed") }
        defer { SSL_CONF_CTX_free(conf) }
        let side = server ? SSL_CONF_FLAG_SERVER : SSL_CONF_FLAG_CLIENT
        _ = SSL_CONF_CTX_set_flags(conf, UInt32(SSL_CONF_FLAG_FILE | side | SSL_CONF_FLAG_CERTIFICATE | SSL_CONF_FLAG_SHOW_ERRORS))
        SSL_CONF_CTX_set_ssl_ctx(conf, context)
        for command in commands {
            guard SSL_CONF_cmd(conf, command.name, command.value) > 0 else {
                throw BuildError(description: "SSL_CONF_cmd(\"\(command.name)\", \"\(command.value)\") failed\(TLSErrorQueue.nginxSuffix())")
            }
        }
        guard SSL_CONF_CTX_finish(conf) == 1 else {
            throw BuildError(description: "SSL_CONF_finish() failed\(TLSErrorQueue.nginxSuffix())")
        }
    }

    /// nginx's `ngx_ssl_crl`: the file's lists join the store, checked for the whole chain.
    private func loadCRL(_ path: String) throws(BuildError) {
        guard let store = SSL_CTX_get_cert_store(raw), let lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file()) else {
            throw BuildError(description: "X509_STORE_add_lookup() failed\(TLSErrorQueue.nginxSuffix())")
        }
        guard X509_load_crl_file(lookup, path, X509_FILETYPE_PEM) > 0 else {
            throw BuildError(description: "X509_LOOKUP_load_file(\"\(path)\") failed\(TLSErrorQueue.nginxSuffix())")
        }
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL))
    }
}

/// OpenSSL's thread-local error queue, read the way nginx prints it.
enum TLSErrorQueue {}
