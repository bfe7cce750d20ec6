import COpenSSL

/// A TLS session a handshake returned, to resume a later handshake with (`sslhandshake`'s
/// session userdata, ``StreamSocket/tlsHandshake(_:)``'s result).
///
/// Its `SSL_SESSION` can change after the handshake: TLS 1.3 sends its tickets after the
/// handshake, in records the connection reads later, and each one that arrives replaces the
/// session here (lua-nginx-module's later `getsslsession` catches them the same way). Confined
/// to the event loop of the connection that fills it.
public final class TLSSession: @unchecked Sendable {
    /// The resumable session (retained), or nil until one arrived.
    private(set) var raw: OpaquePointer?

    init(_ raw: OpaquePointer? = nil) {
        self.raw = raw
    }

    deinit {
        if let raw { SSL_SESSION_free(raw) }
    }

    /// Whether the session can resume a handshake (it holds an ID or a ticket).
    public var isResumable: Bool {
        guard let raw else { return false }
        return SSL_SESSION_is_resumable(raw) == 1
    }

    /// Takes over `session` (one reference) in place of the one held.
    func replace(with session: OpaquePointer) {
        if let raw { SSL_SESSION_free(raw) }
        raw = session
    }
}
