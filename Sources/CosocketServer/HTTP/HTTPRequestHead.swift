import NIOCore

/// A parsed HTTP/1.x request head.
///
/// All fields are offsets into ONE `ByteBuffer` (`bytes`) holding exactly the head bytes
/// (request line through the terminating empty line). `bytes` is a zero-copy slice of the
/// connection's input buffer, so parsing allocates only the header-field array.
/// `String` accessors are computed on demand; the `…Range` accessors and `view(_:)`
/// give allocation-free access.
public struct HTTPRequestHead: Sendable {
    /// Request method. Anything matching nginx's method syntax (`[A-Z_-]+`) is accepted;
    /// methods not listed here are `.other` (see `methodName` for the text).
    public enum Method: UInt8, Sendable, Hashable {
        case get, head, post, put, delete, options, patch, trace, connect, other
    }

    /// Protocol version. `HTTP/1.x` with x ≥ 1 is treated as 1.1 (as nginx does).
    public enum Version: UInt8, Sendable, Hashable, Comparable {
        case http1_0, http1_1
        public static func < (a: Version, b: Version) -> Bool { a.rawValue < b.rawValue }
    }

    /// One header field: byte ranges of the name and of the value (value trimmed of
    /// surrounding spaces/tabs) inside `bytes`.
    public struct Field: Sendable, Hashable {
        @usableFromInline let nameStart: UInt32
        @usableFromInline let nameEnd: UInt32
        @usableFromInline let valueStart: UInt32
        @usableFromInline let valueEnd: UInt32

        @inlinable init(nameStart: Int, nameEnd: Int, valueStart: Int, valueEnd: Int) {
            self.nameStart = UInt32(truncatingIfNeeded: nameStart)
            self.nameEnd = UInt32(truncatingIfNeeded: nameEnd)
            self.valueStart = UInt32(truncatingIfNeeded: valueStart)
            self.valueEnd = UInt32(truncatingIfNeeded: valueEnd)
        }

        public var name: Range<Int> { Int(nameStart)..<Int(nameEnd) }
        public var value: Range<Int> { Int(valueStart)..<Int(valueEnd) }
    }

    /// The head bytes; every range of this type indexes into it (its readerIndex is 0).
    public let bytes: ByteBuffer
    public let method: Method
    public let version: Version
    /// Header fields in arrival order (names as sent, not lower-cased).
    public let fields: [Field]
    /// Parsed `Content-Length` (nil when absent).
    public let contentLength: Int?
    /// `Transfer-Encoding: chunked` was present (and no Content-Length; that combination is rejected).
    public let isChunked: Bool
    /// nginx keep-alive rule: `Connection` containing "close" → false; containing "keep-alive" → true;
    /// otherwise true for HTTP/1.1, false for HTTP/1.0.
    public let keepAlive: Bool

    @usableFromInline let methodEnd: UInt32
    @usableFromInline let targetStart: UInt32
    @usableFromInline let targetEnd: UInt32
    @usableFromInline let pathStart: UInt32
    @usableFromInline let pathEnd: UInt32
    /// The decoded and normalized path when it differs from the raw one (see `URIPath`).
    @usableFromInline let normalizedPath: String?
    /// Index just after '?', or UInt32.max when the target has no query.
    @usableFromInline let queryStart: UInt32
    /// Index of the `Host` field in `fields`, or -1.
    @usableFromInline let hostField: Int32
    /// Authority of an absolute-form target (`GET http://host/x`), empty when none.
    @usableFromInline let authorityStart: UInt32
    @usableFromInline let authorityEnd: UInt32

    init(
        bytes: ByteBuffer, method: Method, version: Version, fields: [Field],
        contentLength: Int?, isChunked: Bool, keepAlive: Bool,
        methodEnd: Int, targetStart: Int, targetEnd: Int, pathStart: Int, pathEnd: Int,
        normalizedPath: String?, queryStart: Int?, hostField: Int, authority: Range<Int>?
    ) {
        self.bytes = bytes
        self.method = method
        self.version = version
        self.fields = fields
        self.contentLength = contentLength
        self.isChunked = isChunked
        self.keepAlive = keepAlive
        self.methodEnd = UInt32(methodEnd)
        self.targetStart = UInt32(targetStart)
        self.targetEnd = UInt32(targetEnd)
        self.pathStart = UInt32(pathStart)
        self.pathEnd = UInt32(pathEnd)
        self.normalizedPath = normalizedPath
        self.queryStart = queryStart.map { UInt32($0) } ?? .max
        self.hostField = Int32(hostField)
        self.authorityStart = UInt32(authority?.lowerBound ?? 0)
        self.authorityEnd = UInt32(authority?.upperBound ?? 0)
    }

    // MARK: Ranges (allocation-free)

    public var methodRange: Range<Int> { 0..<Int(methodEnd) }
    /// The raw request target as sent (`$request_uri`): path plus `?args`; for an
    /// absolute-form target, nginx leaves out the scheme and authority.
    public var uriRange: Range<Int> {
        authorityEnd > authorityStart ? Int(pathStart)..<Int(targetEnd) : Int(targetStart)..<Int(targetEnd)
    }
    /// The raw path part of the target, as sent (for absolute-form targets, the part after the
    /// authority; may then be empty, meaning "/"). `path` is its decoded, normalized form.
    public var pathRange: Range<Int> { Int(pathStart)..<Int(pathEnd) }
    /// The query after '?' up to a `#fragment` (nginx's `$args`), or nil when the target has
    /// no '?'.
    public var queryRange: Range<Int>? {
        guard queryStart != .max else { return nil }
        let start = Int(queryStart), end = Int(targetEnd)
        let fragment = bytes.withUnsafeReadableBytes { raw in
            raw[start..<end].firstIndex(of: UInt8(ascii: "#"))
        }
        return start..<(fragment ?? end)
    }

    /// A zero-copy view of `range` in `bytes`.
    public func view(_ range: Range<Int>) -> ByteBufferView {
        bytes.viewBytes(at: range.lowerBound, length: range.count)!
    }

    /// Decodes `range` of `bytes` as UTF-8 (invalid sequences repaired).
    public func string(_ range: Range<Int>) -> String {
        bytes.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    // MARK: Lazy String accessors

    public var methodName: String { string(methodRange) }
    /// Raw request target (`$request_uri`).
    public var uri: String { string(uriRange) }
    /// The path as nginx's `$uri`: percent-decoded, slashes merged, `.` and `..` resolved
    /// (see `URIPath`); "/" for an absolute-form target without a path. Decoded bytes that are
    /// not UTF-8 (`%FF`) are repaired here, where nginx keeps the byte.
    public var path: String { normalizedPath ?? string(pathRange) }
    /// Query string without '?' (`$args`), nil when the target has no '?'.
    public var query: String? { queryRange.map { string($0) } }

    /// Host: the authority of an absolute-form target if any (nginx gives it precedence),
    /// else the raw `Host` header value; nil when neither is present.
    public var host: String? {
        if authorityEnd > authorityStart { return string(Int(authorityStart)..<Int(authorityEnd)) }
        if hostField >= 0 { return string(fields[Int(hostField)].value) }
        return nil
    }

    public var headerCount: Int { fields.count }
    public func headerName(at index: Int) -> String { string(fields[index].name) }
    public func headerValue(at index: Int) -> String { string(fields[index].value) }

    /// All headers as strings (allocates; prefer `fields` + ranges on hot paths).
    public var headers: [(name: String, value: String)] {
        fields.map { (string($0.name), string($0.value)) }
    }

    // MARK: Case-insensitive lookup

    /// Index in `fields` of the first header whose name equals `name` ignoring ASCII case.
    public func fieldIndex(named name: String) -> Int? {
        var name = name
        return name.withUTF8 { n -> Int? in
            bytes.withUnsafeReadableBytes { b -> Int? in
                for (i, f) in fields.enumerated()
                where Int(f.nameEnd - f.nameStart) == n.count
                    && Self.equalsIgnoringCase(b, Int(f.nameStart), n)
                {
                    return i
                }
                return nil
            }
        }
    }

    /// Value of the first header named `name` (ASCII case-insensitive), or nil.
    public func header(named name: String) -> String? {
        fieldIndex(named: name).map { headerValue(at: $0) }
    }

    /// Values of every header named `name` (ASCII case-insensitive), in order.
    public func headers(named name: String) -> [String] {
        var name = name
        let indices = name.withUTF8 { n -> [Int] in
            bytes.withUnsafeReadableBytes { b -> [Int] in
                fields.indices.filter { i in
                    let f = fields[i]
                    return Int(f.nameEnd - f.nameStart) == n.count
                        && Self.equalsIgnoringCase(b, Int(f.nameStart), n)
                }
            }
        }
        return indices.map { headerValue(at: $0) }
    }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c &- 65 < 26 ? c | 0x20 : c }

    static func equalsIgnoringCase(_ b: UnsafeRawBufferPointer, _ start: Int, _ n: UnsafeBufferPointer<UInt8>) -> Bool {
        for j in 0..<n.count where lower(b[start + j]) != lower(n[j]) { return false }
        return true
    }
}

extension HTTPRequestHead: CustomStringConvertible {
    public var description: String {
        "HTTPRequestHead(\(methodName) \(uri) \(version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0"), \(headerCount) headers)"
    }
}
