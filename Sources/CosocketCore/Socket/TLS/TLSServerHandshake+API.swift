#if os(Linux)
import COpenSSL
import Glibc

/// What a hook's code may ask of and do to the handshake it runs in (lua-resty-core's
/// `ngx.ssl`, `ngx.ssl.clienthello` and `ngx.ssl.session` over the host's C functions). Each
/// failure is the reference's message; `nil` means done.
extension TLSServerHandshake {
    /// The reference's message when the connection has gone.
    static let noConnection = "bad ssl conn"

    // MARK: Certificates (ssl_certificate_by_lua*)

    /// `ngx.ssl.clear_certs`: the certificates and key the server context gave.
    public func clearCertificates() -> String? {
        guard let ssl else { return Self.noConnection }
        SSL_certs_clear(ssl)
        return nil
    }

    /// `ngx.ssl.set_der_cert`: a chain of DER certificates, the leaf first.
    public func useCertificateChain(der bytes: [UInt8]) -> String? {
        guard let ssl else { return Self.noConnection }
        var certificates: [OpaquePointer] = []
        defer { for certificate in certificates { X509_free(certificate) } }
        bytes.withUnsafeBufferPointer { buffer in
            guard var cursor = buffer.baseAddress else { return }
            let end = cursor + buffer.count
            while cursor < end {
                var next: UnsafePointer<UInt8>? = cursor
                guard let certificate = d2i_X509(nil, &next, end - cursor), let next else { break }
                certificates.append(certificate)
                cursor = next
            }
        }
        ERR_clear_error()
        guard let leaf = certificates.first else { return "d2i_X509_bio() failed" }
        return use(leaf: leaf, chain: certificates.dropFirst(), on: ssl)
    }

    /// `ngx.ssl.set_cert`: a chain parsed by `parse_pem_cert`.
    public func useCertificateChain(_ chain: TLSCertificateChain) -> String? {
        guard let ssl else { return Self.noConnection }
        guard let leaf = chain.certificates.first else { return "sk_X509_value() failed" }
        return use(leaf: leaf, chain: chain.certificates.dropFirst(), on: ssl)
    }

    private func use(leaf: OpaquePointer, chain: ArraySlice<OpaquePointer>, on ssl: OpaquePointer) -> String? {
        guard SSL_use_certificate(ssl, leaf) == 1 else {
            ERR_clear_error()
            return "SSL_use_certificate() failed"
        }
        _ = cosocket_ssl_clear_chain_certs(ssl)
        for certificate in chain where cosocket_ssl_add1_chain_cert(ssl, certificate) != 1 {
            ERR_clear_error()
            return "SSL_add1_chain_cert() failed"
        }
        return nil
    }

    /// `ngx.ssl.set_der_priv_key`.
    public func usePrivateKey(der bytes: [UInt8]) -> String? {
        guard let ssl else { return Self.noConnection }
        let key: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &cursor, buffer.count)
        }
        guard let key else {
            ERR_clear_error()
            return "d2i_PrivateKey_bio() failed"
        }
        defer { EVP_PKEY_free(key) }
        return use(key: key, on: ssl)
    }

    /// `ngx.ssl.set_priv_key`: a key parsed by `parse_pem_priv_key`.
    public func usePrivateKey(_ key: TLSPrivateKey) -> String? {
        guard let ssl else { return Self.noConnection }
        return use(key: key.raw, on: ssl)
    }

    private func use(key: OpaquePointer, on ssl: OpaquePointer) -> String? {
        guard SSL_use_PrivateKey(ssl, key) == 1 else {
            ERR_clear_error()
            return "SSL_use_PrivateKey() failed"
        }
        return nil
    }

    /// `ngx.ssl.verify_client(ca_certs?, depth?)`: asks the client for a certificate, checked
    /// against `authorities` (or the server's own CA list) to `depth` (-1: the server's).
    public func verifyClient(authorities: TLSCertificateChain?, depth: Int) -> String? {
        guard let ssl else { return Self.noConnection }
        cosocket_ssl_set_verify_peer(ssl, Int32(clamping: depth))
        guard let authorities else { return nil }
        guard let store = X509_STORE_new() else { return "X509_STORE_new() failed" }
        defer { X509_STORE_free(store) }
        guard let names = OPENSSL_sk_new_null() else { return "sk_X509_NAME_new_null() failed" }
        for certificate in authorities.certificates {
            guard X509_STORE_add_cert(store, certificate) == 1 else {
                OPENSSL_sk_pop_free(names) { X509_NAME_free(OpaquePointer($0)) }
                ERR_clear_error()
                return "X509_STORE_add_cert() failed"
            }
            if let name = X509_get_subject_name(certificate).flatMap({ X509_NAME_dup($0) }) {
                OPENSSL_sk_push(names, UnsafeRawPointer(name))
            }
        }
        guard cosocket_ssl_set1_verify_cert_store(ssl, store) == 1 else {
            OPENSSL_sk_pop_free(names) { X509_NAME_free(OpaquePointer($0)) }
            ERR_clear_error()
            return "SSL_set1_verify_cert_store() failed"
        }
        SSL_set_client_CA_list(ssl, names)
        return nil
    }

    // MARK: Facts of the connection

    /// `ngx.ssl.server_name`: the SNI name the client sent, if any.
    public var requestedServerName: String? {
        guard let ssl, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    /// `ngx.ssl.get_tls1_version`: the protocol's number (0x0303 for TLS 1.2).
    public var protocolVersion: Int32? {
        guard let ssl else { return nil }
        return SSL_version(ssl)
    }

    /// The connection's own or the client's address as the reference hands it over: the raw
    /// address bytes (4 or 16) or a unix path, and its type (0 unix, 1 inet, 2 inet6).
    public func rawAddress(local: Bool) -> (bytes: [UInt8], type: Int32, port: UInt16)? {
        guard descriptor >= 0 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                local ? getsockname(descriptor, $0, &length) : getpeername(descriptor, $0, &length)
            }
        }
        guard result == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { raw in
                let address = raw.load(as: sockaddr_in.self)
                return (withUnsafeBytes(of: address.sin_addr) { Array($0) }, 1, UInt16(bigEndian: address.sin_port))
            }
        case AF_INET6:
            return withUnsafeBytes(of: &storage) { raw in
                let address = raw.load(as: sockaddr_in6.self)
                return (withUnsafeBytes(of: address.sin6_addr) { Array($0) }, 2, UInt16(bigEndian: address.sin6_port))
            }
        case AF_UNIX:
            return withUnsafeBytes(of: &storage) { raw in
                let path = raw.dropFirst(MemoryLayout<sa_family_t>.size).prefix(max(0, Int(length) - MemoryLayout<sa_family_t>.size))
                return (Array(path.prefix { $0 != 0 }), 0, 0)
            }
        default:
            return nil
        }
    }

    // MARK: The ClientHello (ssl_client_hello_by_lua*)

    /// `get_client_hello_ext(type)`: the extension's body, nil when the hello has none.
    /// Valid until the client-hello hook has finished (OpenSSL keeps the hello until then).
    public func clientHelloExtension(_ type: UInt32) -> Result<[UInt8]?, TLSHookError> {
        guard let ssl else { return .failure(TLSHookError(Self.noConnection)) }
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_client_hello_get0_ext(ssl, type, &data, &length) == 1 else { return .success(nil) }
        guard let data else { return .success([]) }
        return .success(Array(UnsafeBufferPointer(start: data, count: length)))
    }

    /// `get_client_hello_server_name`: the host name of the hello's SNI extension, as the
    /// reference reads it (RFC 6066's list; its first entry, which must be a host name).
    public func clientHelloServerName() -> Result<String?, TLSHookError> {
        switch clientHelloExtension(UInt32(TLSEXT_TYPE_server_name)) {
        case .failure(let error): return .failure(error)
        case .success(nil): return .success(nil)
        case .success(let body?):
            guard body.count > 2 else { return .failure(TLSHookError("bad SSL Client Hello Extension")) }
            let listLength = Int(body[0]) << 8 | Int(body[1])
            guard listLength + 2 == body.count, body.count > 5, body[2] == UInt8(TLSEXT_NAMETYPE_host_name) else {
                return .failure(TLSHookError("bad SSL Client Hello Extension"))
            }
            let nameLength = Int(body[3]) << 8 | Int(body[4])
            guard nameLength + 5 <= body.count else { return .failure(TLSHookError("bad SSL Client Hello Extension")) }
            return .success(String(decoding: body[5..<(5 + nameLength)], as: UTF8.self))
        }
    }

    /// `set_protocols`: the protocols this handshake may use, as the reference's bits
    /// (0x0002 SSLv2, 0x0004 SSLv3, 0x0008 TLSv1, 0x0010 TLSv1.1, 0x0020 TLSv1.2, 0x0040 TLSv1.3).
    public func allowProtocols(_ bits: Int32) -> String? {
        guard let ssl else { return Self.noConnection }
        var excluded: UInt64 = 0
        let table: [(Int32, UInt64)] = [
            (0x0002, cosocket_ssl_op_no_sslv2()), (0x0004, cosocket_ssl_op_no_sslv3()), (0x0008, cosocket_ssl_op_no_tlsv1()),
            (0x0010, cosocket_ssl_op_no_tlsv1_1()), (0x0020, cosocket_ssl_op_no_tlsv1_2()), (0x0040, cosocket_ssl_op_no_tlsv1_3()),
        ]
        for (bit, option) in table where bits & bit == 0 { excluded |= option }
        SSL_clear_options(ssl, cosocket_ssl_op_no_protocols())
        SSL_set_options(ssl, excluded)
        return nil
    }

    // MARK: Sessions (ssl_session_fetch_by_lua*, ssl_session_store_by_lua*)

    /// `ngx.ssl.session.get_session_id`: in the fetch hook the ID the client offered, in the
    /// store hook the new session's, as lower-case hex.
    public func sessionIDHex() -> Result<String, TLSHookError> {
        var id: [UInt8]
        if let newSession {
            var length: UInt32 = 0
            guard let pointer = SSL_SESSION_get_id(newSession, &length) else { return .failure(TLSHookError("bad session in lua context")) }
            id = Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
        } else {
            id = offeredSessionID
        }
        guard !id.isEmpty else { return .failure(TLSHookError("uninitialized session id in lua context")) }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(id.count * 2)
        for byte in id {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return .success(String(decoding: text, as: UTF8.self))
    }

    /// `ngx.ssl.session.get_serialized_session` (the store hook): the new session in DER.
    public func serializedSession() -> Result<[UInt8], TLSHookError> {
        guard let newSession else { return .failure(TLSHookError("bad session in lua context")) }
        let length = i2d_SSL_SESSION(newSession, nil)
        guard length > 0 else { return .failure(TLSHookError("i2d_SSL_SESSION() failed")) }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_SSL_SESSION(newSession, &cursor)
        }
        guard written == length else { return .failure(TLSHookError("i2d_SSL_SESSION() failed")) }
        return .success(bytes)
    }
}

/// A hook API call that failed: the reference's message.
public struct TLSHookError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
#endif
