import COpenSSL

/// A certificate chain parsed from PEM (`ngx.ssl.parse_pem_cert`): the leaf first, then its
/// intermediates, for `setclientcert`.
public final class TLSCertificateChain: @unchecked Sendable {
    let certificates: [OpaquePointer]

    /// Parses every certificate in `pem`; nil (and the reference's message) when none parses.
    public init(pem: some Collection<UInt8>) throws(TLSParseError) {
        var certificates: [OpaquePointer] = []
        let bytes = Array(pem)
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32(clamping: $0.count)) }) else {
            throw TLSParseError(message: "BIO_new_mem_buf() failed")
        }
        defer { BIO_free(bio) }
        ERR_clear_error()
        // The first with its trust settings (PEM_read_bio_X509_AUX, as the reference reads it).
        guard let leaf = PEM_read_bio_X509_AUX(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw TLSParseError(message: "PEM_read_bio_X509_AUX() failed")
        }
        certificates.append(leaf)
        while let next = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(next) }
        ERR_clear_error()
        self.certificates = certificates
    }

    deinit {
        for certificate in certificates { X509_free(certificate) }
    }

    /// Every certificate in DER, one after another (`ngx.ssl.cert_pem_to_der`).
    public func der() throws(TLSParseError) -> [UInt8] {
        var bytes: [UInt8] = []
        for certificate in certificates {
            var buffer: UnsafeMutablePointer<UInt8>?
            let length = i2d_X509(certificate, &buffer)
            guard length > 0, let buffer else { throw TLSParseError(message: "i2d_X509() failed") }
            bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: Int(length)))
            CRYPTO_free(buffer, #file, #line)
        }
        return bytes
    }
}

/// A private key parsed from PEM (`ngx.ssl.parse_pem_priv_key`).
public final class TLSPrivateKey: @unchecked Sendable {
    let raw: OpaquePointer

    public init(pem: some Collection<UInt8>) throws(TLSParseError) {
        let bytes = Array(pem)
        guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32(clamping: $0.count)) }) else {
            throw TLSParseError(message: "BIO_new_mem_buf() failed")
        }
        defer { BIO_free(bio) }
        ERR_clear_error()
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw TLSParseError(message: "PEM_read_bio_PrivateKey() failed")
        }
        raw = key
    }

    deinit {
        EVP_PKEY_free(raw)
    }

    /// The key in DER (`ngx.ssl.priv_key_pem_to_der`).
    public func der() throws(TLSParseError) -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_PrivateKey(raw, &buffer)
        guard length > 0, let buffer else { throw TLSParseError(message: "i2d_PrivateKey() failed") }
        defer { CRYPTO_free(buffer, #file, #line) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
    }
}

/// Why PEM text did not parse: the reference's message.
public struct TLSParseError: Error, Sendable, Equatable {
    public var message: String
}
