import COpenSSL

/// The OpenSSL the binary runs with, for `cosocket -V` (nginx prints the same line).
public enum TLSLibraryVersion {
    /// OpenSSL's own text, e.g. `OpenSSL 3.0.19 27 Jan 2026`.
    public static var text: String {
        guard let version = OpenSSL_version(OPENSSL_VERSION) else { return "OpenSSL" }
        return String(cString: version)
    }
}
