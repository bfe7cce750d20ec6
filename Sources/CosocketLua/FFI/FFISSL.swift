import CosocketCore

#if canImport(Glibc)
import Glibc
#endif

// lua-resty-core's `ngx/ssl.lua`, `ngx/ssl/clienthello.lua` and `ngx/ssl/session.lua`: the
// handshake of the running context (an `ssl_*_by_lua*` hook's, or the HTTPS request's
// connection) through ``TLSServerHandshake``'s API. Prototypes as those modules declare them.

#if os(Linux)
/// The handshake `r`'s running code acts on, or the reference's error for its absence.
private func handshake(_ r: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> TLSServerHandshake? {
    guard let context = FFIRequest.context(r) else {
        err?.pointee = FFIMessage.pointer("no request found")
        return nil
    }
    guard let found = context.tlsHandshake ?? context.request?.tlsHandshake else {
        err?.pointee = FFIMessage.pointer("bad request")
        return nil
    }
    return found
}

/// `nil` (done) → FFI_OK; a message → FFI_ERROR with it.
private func status(_ message: String?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let message else { return FFIStatus.ok }
    err?.pointee = FFIMessage.pointer(message)
    return FFIStatus.error
}

private func bytes(_ data: UnsafeRawPointer?, _ length: Int) -> [UInt8] {
    Array(ffiBytes(data?.assumingMemoryBound(to: UInt8.self), length))
}

// MARK: ngx.ssl

@_cdecl("ngx_http_lua_ffi_ssl_set_der_certificate")
public func ngx_http_lua_ffi_ssl_set_der_certificate(
    _ r: UnsafeMutableRawPointer?, _ data: UnsafePointer<CChar>?, _ length: Int, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    return status(handshake.useCertificateChain(der: bytes(data, length)), err)
}

@_cdecl("ngx_http_lua_ffi_ssl_clear_certs")
public func ngx_http_lua_ffi_ssl_clear_certs(_ r: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    return status(handshake.clearCertificates(), err)
}

@_cdecl("ngx_http_lua_ffi_ssl_set_der_private_key")
public func ngx_http_lua_ffi_ssl_set_der_private_key(
    _ r: UnsafeMutableRawPointer?, _ data: UnsafePointer<CChar>?, _ length: Int, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    return status(handshake.usePrivateKey(der: bytes(data, length)), err)
}

/// The address bytes handed out stay valid until the next call on this thread (``FFIScratch``).
private func rawAddress(
    _ r: UnsafeMutableRawPointer?, local: Bool, _ address: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ length: UnsafeMutablePointer<Int>?, _ type: UnsafeMutablePointer<Int32>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    guard let found = handshake.rawAddress(local: local), let stored = FFIScratch.store([found.bytes])?.first else {
        return status("failed to fetch socket address", err)
    }
    address?.pointee = UnsafeMutableRawPointer(stored.0)?.assumingMemoryBound(to: CChar.self)
    length?.pointee = stored.1
    type?.pointee = found.type
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_ssl_raw_server_addr")
public func ngx_http_lua_ffi_ssl_raw_server_addr(
    _ r: UnsafeMutableRawPointer?, _ address: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?,
    _ type: UnsafeMutablePointer<Int32>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    rawAddress(r, local: true, address, length, type, err)
}

@_cdecl("ngx_http_lua_ffi_ssl_raw_client_addr")
public func ngx_http_lua_ffi_ssl_raw_client_addr(
    _ r: UnsafeMutableRawPointer?, _ address: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?,
    _ type: UnsafeMutablePointer<Int32>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    rawAddress(r, local: false, address, length, type, err)
}

@_cdecl("ngx_http_lua_ffi_ssl_server_port")
public func ngx_http_lua_ffi_ssl_server_port(
    _ r: UnsafeMutableRawPointer?, _ port: UnsafeMutablePointer<UInt16>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    guard let found = handshake.rawAddress(local: true) else { return status("failed to fetch socket address", err) }
    // A unix socket has no port: the reference answers 0.
    port?.pointee = found.port
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_ssl_server_name")
public func ngx_http_lua_ffi_ssl_server_name(
    _ r: UnsafeMutableRawPointer?, _ name: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    guard let found = handshake.requestedServerName, let stored = FFIScratch.store([Array(found.utf8)])?.first else {
        return FFIStatus.declined
    }
    name?.pointee = UnsafeMutableRawPointer(stored.0)?.assumingMemoryBound(to: CChar.self)
    length?.pointee = stored.1
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_ssl_get_tls1_version")
public func ngx_http_lua_ffi_ssl_get_tls1_version(_ r: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    guard let version = handshake.protocolVersion else { return status("bad ssl conn", err) }
    return version
}

/// PEM → DER into `der` (at least `pem`'s length, which DER never exceeds): every
/// certificate of the chain one after another, or the key. The DER size, or 0 on failure.
private func pemToDER(
    _ pem: UnsafePointer<UInt8>?, _ length: Int, into der: UnsafeMutablePointer<UInt8>?, certificate: Bool,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    let text = ffiBytes(pem, length)
    let result: Result<[UInt8], TLSParseError>
    if certificate {
        result = Result { () throws(TLSParseError) in try TLSCertificateChain(pem: text).der() }
    } else {
        result = Result { () throws(TLSParseError) in try TLSPrivateKey(pem: text).der() }
    }
    switch result {
    case .success(let bytes):
        guard let der, bytes.count <= length, !bytes.isEmpty else {
            err?.pointee = FFIMessage.pointer(certificate ? "i2d_X509() failed" : "i2d_PrivateKey() failed")
            return 0
        }
        bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { der.update(from: base, count: bytes.count) } }
        return Int32(clamping: bytes.count)
    case .failure(let error):
        err?.pointee = FFIMessage.pointer(error.message)
        return 0
    }
}

@_cdecl("ngx_http_lua_ffi_cert_pem_to_der")
public func ngx_http_lua_ffi_cert_pem_to_der(
    _ pem: UnsafePointer<UInt8>?, _ length: Int, _ der: UnsafeMutablePointer<UInt8>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    pemToDER(pem, length, into: der, certificate: true, err)
}

@_cdecl("ngx_http_lua_ffi_priv_key_pem_to_der")
public func ngx_http_lua_ffi_priv_key_pem_to_der(
    _ pem: UnsafePointer<UInt8>?, _ length: Int, _ passphrase: UnsafePointer<UInt8>?, _ der: UnsafeMutablePointer<UInt8>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    pemToDER(pem, length, into: der, certificate: false, err)
}

@_cdecl("ngx_http_lua_ffi_parse_pem_cert")
public func ngx_http_lua_ffi_parse_pem_cert(
    _ pem: UnsafePointer<UInt8>?, _ length: Int, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutableRawPointer? {
    do {
        return FFISSLHandles.handle(try TLSCertificateChain(pem: ffiBytes(pem, length)))
    } catch {
        err?.pointee = FFIMessage.pointer(error.message)
        return nil
    }
}

@_cdecl("ngx_http_lua_ffi_parse_pem_priv_key")
public func ngx_http_lua_ffi_parse_pem_priv_key(
    _ pem: UnsafePointer<UInt8>?, _ length: Int, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutableRawPointer? {
    do {
        return FFISSLHandles.handle(try TLSPrivateKey(pem: ffiBytes(pem, length)))
    } catch {
        err?.pointee = FFIMessage.pointer(error.message)
        return nil
    }
}

@_cdecl("ngx_http_lua_ffi_set_cert")
public func ngx_http_lua_ffi_set_cert(
    _ r: UnsafeMutableRawPointer?, _ cdata: UnsafeRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    guard let chain = FFISSLHandles.object(cdata, as: TLSCertificateChain.self) else { return status("sk_X509_value() failed", err) }
    return status(handshake.useCertificateChain(chain), err)
}

@_cdecl("ngx_http_lua_ffi_set_priv_key")
public func ngx_http_lua_ffi_set_priv_key(
    _ r: UnsafeMutableRawPointer?, _ cdata: UnsafeRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    guard let key = FFISSLHandles.object(cdata, as: TLSPrivateKey.self) else { return status("SSL_use_PrivateKey() failed", err) }
    return status(handshake.usePrivateKey(key), err)
}

@_cdecl("ngx_http_lua_ffi_free_cert")
public func ngx_http_lua_ffi_free_cert(_ cdata: UnsafeRawPointer?) {
    FFISSLHandles.free(cdata)
}

@_cdecl("ngx_http_lua_ffi_free_priv_key")
public func ngx_http_lua_ffi_free_priv_key(_ cdata: UnsafeRawPointer?) {
    FFISSLHandles.free(cdata)
}

@_cdecl("ngx_http_lua_ffi_ssl_verify_client")
public func ngx_http_lua_ffi_ssl_verify_client(
    _ r: UnsafeMutableRawPointer?, _ cdata: UnsafeRawPointer?, _ depth: Int32, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    let authorities = FFISSLHandles.object(cdata, as: TLSCertificateChain.self)
    if cdata != nil, authorities == nil { return status("bad ca certs", err) }
    return status(handshake.verifyClient(authorities: authorities, depth: Int(depth)), err)
}

// MARK: ngx.ssl.clienthello

@_cdecl("ngx_http_lua_ffi_ssl_get_client_hello_server_name")
public func ngx_http_lua_ffi_ssl_get_client_hello_server_name(
    _ r: UnsafeMutableRawPointer?, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ length: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    switch handshake.clientHelloServerName() {
    case .failure(let error): return status(error.message, err)
    case .success(nil): return FFIStatus.declined
    case .success(let found?):
        guard let stored = FFIScratch.store([Array(found.utf8)])?.first else { return status("no memory", err) }
        name?.pointee = UnsafeRawPointer(stored.0)?.assumingMemoryBound(to: CChar.self)
        length?.pointee = stored.1
        return FFIStatus.ok
    }
}

@_cdecl("ngx_http_lua_ffi_ssl_get_client_hello_ext")
public func ngx_http_lua_ffi_ssl_get_client_hello_ext(
    _ r: UnsafeMutableRawPointer?, _ type: UInt32, _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ length: UnsafeMutablePointer<Int>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    switch handshake.clientHelloExtension(type) {
    case .failure(let error): return status(error.message, err)
    case .success(nil): return FFIStatus.declined
    case .success(let body?):
        guard let stored = FFIScratch.store([body])?.first else { return status("no memory", err) }
        out?.pointee = UnsafePointer(stored.0)
        length?.pointee = stored.1
        return FFIStatus.ok
    }
}

@_cdecl("ngx_http_lua_ffi_ssl_set_protocols")
public func ngx_http_lua_ffi_ssl_set_protocols(
    _ r: UnsafeMutableRawPointer?, _ protocols: Int32, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    return status(handshake.allowProtocols(protocols), err)
}

// MARK: ngx.ssl.session

@_cdecl("ngx_http_lua_ffi_ssl_set_serialized_session")
public func ngx_http_lua_ffi_ssl_set_serialized_session(
    _ r: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ length: Int32, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    let der = Array(ffiBytes(data, Int(max(0, length))))
    return status(handshake.setFetchedSession(der) ? nil : "d2i_SSL_SESSION() failed", err)
}

@_cdecl("ngx_http_lua_ffi_ssl_get_serialized_session_size")
public func ngx_http_lua_ffi_ssl_get_serialized_session_size(_ r: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    switch handshake.serializedSession() {
    case .success(let bytes): return Int32(clamping: bytes.count)
    case .failure(let error): return status(error.message, err)
    }
}

@_cdecl("ngx_http_lua_ffi_ssl_get_serialized_session")
public func ngx_http_lua_ffi_ssl_get_serialized_session(
    _ r: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    switch handshake.serializedSession() {
    case .success(let bytes):
        // The buffer holds the size the size call answered (the same session).
        bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer?.update(from: base, count: bytes.count) } }
        return FFIStatus.ok
    case .failure(let error): return status(error.message, err)
    }
}

@_cdecl("ngx_http_lua_ffi_ssl_get_session_id_size")
public func ngx_http_lua_ffi_ssl_get_session_id_size(_ r: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    switch handshake.sessionIDHex() {
    case .success(let hex): return Int32(clamping: hex.utf8.count)
    case .failure(let error): return status(error.message, err)
    }
}

@_cdecl("ngx_http_lua_ffi_ssl_get_session_id")
public func ngx_http_lua_ffi_ssl_get_session_id(
    _ r: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let handshake = handshake(r, err) else { return FFIStatus.error }
    switch handshake.sessionIDHex() {
    case .success(let hex):
        let bytes = Array(hex.utf8)
        bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer?.update(from: base, count: bytes.count) } }
        return FFIStatus.ok
    case .failure(let error): return status(error.message, err)
    }
}
#endif

#if os(Linux)
/// The connection's `SSL *` (lua-resty-openssl and the reference's tests reach OpenSSL with it),
/// or NULL outside TLS.
@_cdecl("ngx_http_lua_ffi_get_req_ssl_pointer")
public func ngx_http_lua_ffi_get_req_ssl_pointer(_ r: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context = FFIRequest.context(r), let handshake = context.tlsHandshake ?? context.request?.tlsHandshake,
        let ssl = handshake.ssl
    else { return nil }
    return UnsafeMutableRawPointer(ssl)
}
#endif
