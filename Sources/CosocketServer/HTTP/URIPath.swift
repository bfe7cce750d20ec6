/// The request path as nginx sees it for location matching and `$uri`.
///
/// nginx (ngx_http_parse_complex_uri, with `merge_slashes` on, its default) turns the raw path
/// of the request target into `$uri` by
/// - percent-decoding `%XX` (a malformed escape or a decoded NUL rejects the request),
/// - merging consecutive slashes,
/// - removing `.` segments and resolving `..` segments (one above the root rejects the request),
/// - dropping a `#fragment`.
///
/// A decoded byte counts as if it had been sent as is (`%2F` separates segments, `%2E%2E` is a
/// `..` segment), except that a decoded `%`, `#` or `?` is plain data: `/%2541` becomes `/%41`
/// (no second decoding), `/a%23b` becomes `/a#b`. Decoded bytes are not checked for UTF-8.
///
/// `$request_uri` and `$args` stay raw; the input here is the path only, without the query.
/// Behaviour checked against Debian's nginx (see URIPathTests).
public enum URIPath {
    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")
    private static let percent = UInt8(ascii: "%")
    private static let hash = UInt8(ascii: "#")
    private static let question = UInt8(ascii: "?")

    /// Whether `normalize(raw)` can differ from `raw`: only an empty path, `%`, `#`, `//` and
    /// `/.` change anything. A scan without allocation, so that plain paths cost nothing more.
    public static func needsNormalization(_ raw: some Collection<UInt8>) -> Bool {
        if raw.isEmpty { return true }
        var afterSlash = false
        for byte in raw {
            if byte == percent || byte == hash { return true }
            if afterSlash && (byte == slash || byte == dot) { return true }
            afterSlash = byte == slash
        }
        return false
    }

    /// Where the bytes seen so far leave the output: what the next `/` or `.` means depends on it.
    private enum Position {
        /// Inside a segment (or at the very start, before any slash).
        case inSegment
        /// Just after a slash: another slash is merged, a dot may start a `.` or `..` segment.
        case afterSlash
        /// After `/.`: a slash or the end makes it a `.` segment.
        case dot
        /// After `/..`: a slash or the end makes it a `..` segment.
        case dotDot
    }

    /// The normalized path, or nil when nginx answers 400 Bad Request (malformed `%` escape,
    /// `%00`, or a `..` above the root). An empty path (absolute-form target without one) is `/`.
    public static func normalize(_ raw: some Collection<UInt8>) -> [UInt8]? {
        if raw.isEmpty { return [slash] }
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var position = Position.inSegment
        var bytes = raw.makeIterator()
        scanning: while var byte = bytes.next() {
            if byte == percent {
                guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                    return nil
                }
                byte = high << 4 | low
                if byte == 0 { return nil }
                if byte == percent || byte == hash || byte == question {
                    output.append(byte)
                    position = .inSegment
                    continue
                }
            } else if byte == hash {
                break scanning
            }
            switch (position, byte) {
            case (.afterSlash, slash):
                continue  // merged
            case (.afterSlash, dot):
                output.append(byte)
                position = .dot
            case (.dot, dot):
                output.append(byte)
                position = .dotDot
            case (.dot, slash):
                output.removeLast()  // "/./" → "/"
                position = .afterSlash
            case (.dotDot, slash):
                guard removeParentSegment(&output) else { return nil }
                position = .afterSlash
            case (_, slash):
                output.append(byte)
                position = .afterSlash
            default:
                output.append(byte)
                position = .inSegment
            }
        }
        switch position {
        case .dot:
            output.removeLast()  // trailing "/." → "/"
        case .dotDot:
            guard removeParentSegment(&output) else { return nil }
        case .inSegment, .afterSlash:
            break
        }
        return output
    }

    /// `output` ends with "/..": removes it and the segment before, keeping that segment's
    /// leading slash. False when there is no such segment (a `..` above the root).
    private static func removeParentSegment(_ output: inout [UInt8]) -> Bool {
        output.removeLast(3)
        guard let parentSlash = output.lastIndex(of: slash) else { return false }
        output.removeSubrange((parentSlash + 1)...)
        return true
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        if byte &- UInt8(ascii: "0") < 10 { return byte &- UInt8(ascii: "0") }
        let lower = byte | 0x20
        if lower &- UInt8(ascii: "a") < 6 { return lower &- UInt8(ascii: "a") + 10 }
        return nil
    }
}
