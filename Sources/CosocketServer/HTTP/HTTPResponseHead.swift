import CosocketCore
import NIOCore

/// The status line and headers of a response, written straight into the outgoing buffer.
///
/// Written byte by byte from static strings and integers: string interpolation here cost
/// more than the rest of a small request.
struct HTTPResponseHead {
    var status = 200
    /// Header names as set (case kept), values in order; `Content-Type` defaults per location.
    var headers: [(name: String, values: [String])] = []

    func values(_ name: String) -> [String]? {
        headers.first { Self.sameName($0.name, name) }?.values
    }

    /// CR and LF in names and values are sent as `%0D` and `%0A`, as the reference escapes
    /// them: a header set from request data must not split the response.
    mutating func set(_ name: String, _ values: [String]?) {
        if !headers.isEmpty { headers.removeAll { Self.sameName($0.name, name) } }
        guard let values else { return }
        // Room for a filter's few headers at once, not 1, 2, then 4.
        if headers.capacity == 0 { headers.reserveCapacity(8) }
        // The values as given unless one needs escaping: no second array per header.
        let sent = values.contains(where: Self.hasLineBreak) ? values.map(Self.escapingLineBreaks) : values
        headers.append((Self.escapingName(name), sent))
    }

    /// Adds a header after any of the same name (nginx's `add_header`).
    mutating func append(_ name: String, _ value: String) {
        let value = Self.escapingLineBreaks(value)
        if let index = headers.firstIndex(where: { Self.sameName($0.name, name) }) {
            headers[index].values.append(value)
        } else {
            headers.append((Self.escapingName(name), [value]))
        }
    }

    /// A header name with the bytes an HTTP token cannot hold (controls, space, separators
    /// such as `:`, and non-ASCII) sent as `%XX`, as the reference escapes names.
    static func escapingName(_ name: String) -> String {
        guard name.utf8.containsByte(where: isUnsafeInName) else { return name }
        var out: [UInt8] = []
        for byte in name.utf8 {
            if isUnsafeInName(byte) {
                let digits = Array(String(byte, radix: 16, uppercase: true).utf8)
                out.append(UInt8(ascii: "%"))
                if digits.count == 1 { out.append(UInt8(ascii: "0")) }
                out.append(contentsOf: digits)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// HTTP's separators, checked with ref-nginx (`%` and `'` pass as they are).
    private static let nameSeparators = Set("()<>@,;:\\\"/[]?={}".utf8)

    private static func isUnsafeInName(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte >= 0x7f || nameSeparators.contains(byte)
    }

    private static func hasLineBreak(_ text: String) -> Bool {
        text.utf8.containsByte(where: { $0 == 13 || $0 == 10 })
    }

    static func escapingLineBreaks(_ text: String) -> String {
        guard hasLineBreak(text) else { return text }
        // By bytes: "\r\n" is one Character, which a string replacement of "\r" would miss.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            switch byte {
            case 13: bytes.append(contentsOf: Array("%0D".utf8))
            case 10: bytes.append(contentsOf: Array("%0A".utf8))
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// How the client finds the end of the body.
    enum BodyFraming {
        case length(Int)
        /// A streamed response to an HTTP/1.1 client.
        case chunked
        /// A streamed response to an HTTP/1.0 client: the body ends when the connection closes.
        case untilClose
        /// 204 and 304: no body, no framing header.
        case none
    }

    /// nginx's own fields as a module changed them; nil in most responses, which keeps a
    /// head two words to copy (fields of their own made every response pay for copying them).
    private var builtIns: BuiltInFields?

    private mutating func changedBuiltIns() -> BuiltInFields {
        if let builtIns { return builtIns }
        let fields = BuiltInFields()
        builtIns = fields
        return fields
    }

    /// `Server`, `Date` or `Content-Type` cleared by `more_clear_headers`: nginx writes the
    /// first two itself unless a header of that name replaced them, and a default type.
    var omitsServer: Bool {
        get { builtIns?.omitsServer ?? false }
        set { changedBuiltIns().omitsServer = newValue }
    }
    var omitsDate: Bool {
        get { builtIns?.omitsDate ?? false }
        set { changedBuiltIns().omitsDate = newValue }
    }
    var omitsContentType: Bool {
        get { builtIns?.omitsContentType ?? false }
        set { changedBuiltIns().omitsContentType = newValue }
    }
    /// `Last-Modified` and `Location` as nginx's own modules set them (the static module, a
    /// redirect): written after the framing, where nginx writes its built-in fields; the
    /// handler's headers of those names go out with the others.
    var builtInLastModified: String? {
        get { builtIns?.lastModified }
        set { changedBuiltIns().lastModified = newValue }
    }
    var builtInLocation: String? {
        get { builtIns?.location }
        set { changedBuiltIns().location = newValue }
    }

    /// Writes the head in nginx's order: the status line, `Server` (`nginx` with
    /// `server_tokens off`, as nginx has it, ours otherwise), `Date`, `Content-Type`, the
    /// framing, `Connection`, then the other headers in the order they were set. nginx answers
    /// with HTTP/1.1 whatever the request's version. `date` is the `Date` header's value
    /// (``HTTPDateCache``), as nginx sends it on every response.
    func write(
        into buffer: inout ByteBuffer, framing: BodyFraming, keepAlive: Bool, defaultType: String, date: String,
        serverTokens: Bool = true
    ) {
        var bound = 192 + defaultType.utf8.count + date.utf8.count + (builtIns?.location?.utf8.count ?? 0) + 48
        for (name, values) in headers {
            for value in values { bound += name.utf8.count + value.utf8.count + 4 }
        }
        let builtIns = builtIns
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory in
            var out = RawWriter(memory)
            out.put("HTTP/1.1 ")
            out.putDecimal(status)
            out.put(" ")
            out.put(Self.reason(status))
            // A `Server` or `Date` of the handler's replaces nginx's, and goes out with the
            // other headers (nginx keeps it in their list).
            var type: String?
            var ownServer = false, ownDate = false
            if !headers.isEmpty {
                for header in headers {
                    if Self.sameName(header.name, "content-type") {
                        type = header.values.last
                    } else if Self.sameName(header.name, "server") {
                        ownServer = true
                    } else if Self.sameName(header.name, "date") {
                        ownDate = true
                    }
                }
            }
            let hasType = status != 204 && status != 304
            if builtIns == nil && !ownServer && !ownDate {
                // The usual head: its fixed parts in as few copies as they allow.
                out.put(serverTokens ? "\r\nServer: cosocket\r\nDate: " : "\r\nServer: nginx\r\nDate: ")
                out.put(date)
                if hasType {
                    out.put("\r\nContent-Type: ")
                    if let type { out.put(type) } else { out.put(defaultType) }
                }
                out.put("\r\n")
            } else {
                out.put("\r\n")
                if !ownServer && builtIns?.omitsServer != true { out.put(serverTokens ? "Server: cosocket\r\n" : "Server: nginx\r\n") }
                if !ownDate && builtIns?.omitsDate != true {
                    out.put("Date: ")
                    out.put(date)
                    out.put("\r\n")
                }
                if builtIns?.omitsContentType != true && hasType {
                    out.put("Content-Type: ")
                    if let type { out.put(type) } else { out.put(defaultType) }
                    out.put("\r\n")
                }
            }
            switch framing {
            case .length(let length):
                out.put("Content-Length: ")
                out.putDecimal(length)
                out.put("\r\n")
            case .chunked:
                out.put("Transfer-Encoding: chunked\r\n")
            case .untilClose, .none:
                break
            }
            if let builtIns {
                // nginx's header filter drops it from any other status.
                if let lastModified = builtIns.lastModified, status == 200 || status == 206 || status == 304 {
                    out.put("Last-Modified: ")
                    out.put(lastModified)
                    out.put("\r\n")
                }
                if let location = builtIns.location {
                    out.put("Location: ")
                    out.put(location)
                    out.put("\r\n")
                }
            }
            // nginx answers a protocol switch with `Connection: upgrade` (the client's
            // connection is then a request socket's, see `ngx.req.socket(true)`).
            if status == 101 {
                out.put("Connection: upgrade\r\n")
            } else {
                out.put(keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n")
            }
            for header in headers {
                if Self.sameName(header.name, "content-type") || Self.sameName(header.name, "content-length") || Self.sameName(header.name, "connection") {
                    continue
                }
                for value in header.values {
                    out.put(header.name)
                    out.put(": ")
                    out.put(value)
                    out.put("\r\n")
                }
            }
            out.put("\r\n")
            return out.count
        }
    }

    /// ASCII case-insensitive header name comparison, without lowercased copies.
    /// ASCII case-insensitive equality, over the strings' contiguous bytes (a zip of the two
    /// UTF-8 views walked them through generic iterators).
    static func sameName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                var index = 0
                while index < x.count {
                    if x[index] | 0x20 != y[index] | 0x20 { return false }
                    index &+= 1
                }
                return true
            }
        }
    }

    static func reason(_ status: Int) -> StaticString {
        switch status {
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Moved Temporarily"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Not Allowed"
        case 408: return "Request Time-out"
        case 411: return "Length Required"
        case 413: return "Request Entity Too Large"
        case 414: return "Request-URI Too Large"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Temporarily Unavailable"
        case 504: return "Gateway Time-out"
        case 505: return "HTTP Version Not Supported"
        // nginx sends a bare code for statuses it has no phrase for.
        default: return ""
        }
    }

    /// nginx's default error page body.
    /// The codes nginx has a page for (`ngx_http_error_pages`); any other special response
    /// goes out with an empty body and no `Content-Type`.
    static func hasErrorPage(_ status: Int) -> Bool {
        switch status {
        case 301, 302, 303, 307, 308, 400...406, 408...416, 421, 429, 494...498, 500...504, 507: return true
        default: return false
        }
    }

    static func errorPage(_ status: Int, serverTokens: Bool = true) -> String {
        guard hasErrorPage(status) else { return "" }
        let signature = serverTokens ? "cosocket" : "nginx"
        if status == 495 || status == 496 {
            // nginx's pages for a refused client certificate (sent with a 400 status line).
            let text = status == 495 ? "The SSL certificate error" : "No required SSL certificate was sent"
            return "<html>\r\n<head><title>400 \(text)</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>\(text)</center>\r\n<hr><center>\(signature)</center>\r\n</body>\r\n</html>\r\n"
        }
        // nginx's 302 page says "Found" although its status line says "Moved Temporarily".
        let title = status == 302 ? "302 Found" : "\(status) \(reason(status))"
        return "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n<hr><center>\(signature)</center>\r\n</body>\r\n</html>\r\n"
    }
}

/// Appends bytes to memory known to be large enough (the caller bounds the total first):
/// ByteBuffer's own per-call checks cost more than the copying for a response head.
struct RawWriter {
    private let memory: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        let length = min(bytes.count, memory.count - count)
        guard length > 0, let target = memory.baseAddress, let source = bytes.baseAddress else { return }
        (target + count).copyMemory(from: source, byteCount: length)
        count += length
    }

    @inline(__always)
    mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    mutating func put(_ text: String) {
        var text = text
        text.withUTF8 { put(UnsafeRawBufferPointer($0)) }
    }

    /// A non-negative integer in decimal (negative ones as 0).
    mutating func putDecimal(_ value: Int) {
        DecimalDigits.withDigits(of: UInt64(max(0, value))) { put($0) }
    }
}

/// The fields of ``HTTPResponseHead`` that nginx writes itself, as a module changed them.
final class BuiltInFields {
    var omitsServer = false
    var omitsDate = false
    var omitsContentType = false
    var lastModified: String?
    var location: String?
}
