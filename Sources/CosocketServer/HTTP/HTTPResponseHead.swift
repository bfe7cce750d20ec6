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

    mutating func set(_ name: String, _ values: [String]?) {
        headers.removeAll { Self.sameName($0.name, name) }
        if let values { headers.append((name, values)) }
    }

    /// How the client finds the end of the body.
    enum BodyFraming {
        case length(Int)
        /// A streamed response to an HTTP/1.1 client.
        case chunked
        /// A streamed response to an HTTP/1.0 client: the body ends when the connection closes.
        case untilClose
    }

    /// Writes the head; nginx answers with HTTP/1.1 whatever the request's version.
    func write(into buffer: inout ByteBuffer, framing: BodyFraming, keepAlive: Bool, defaultType: String) {
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeDecimal(status)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeStaticString(Self.reason(status))
        buffer.writeStaticString("\r\nServer: cosocket\r\n")
        var hasType = false
        for (name, values) in headers {
            if Self.sameName(name, "content-type") { hasType = true }
            if Self.sameName(name, "content-length") || Self.sameName(name, "connection") { continue }
            for value in values {
                buffer.writeString(name)
                buffer.writeStaticString(": ")
                buffer.writeString(value)
                buffer.writeStaticString("\r\n")
            }
        }
        if !hasType && status != 204 && status != 304 {
            buffer.writeStaticString("Content-Type: ")
            buffer.writeString(defaultType)
            buffer.writeStaticString("\r\n")
        }
        switch framing {
        case .length(let length):
            buffer.writeStaticString("Content-Length: ")
            buffer.writeDecimal(length)
            buffer.writeStaticString("\r\n")
        case .chunked:
            buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
        case .untilClose:
            break
        }
        buffer.writeStaticString(keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n")
    }

    /// ASCII case-insensitive header name comparison, without lowercased copies.
    static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { $0 | 0x20 == $1 | 0x20 }
    }

    static func reason(_ status: Int) -> StaticString {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
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
        default: return "Unknown"
        }
    }

    /// nginx's default error page body.
    static func errorPage(_ status: Int) -> String {
        let title = "\(status) \(reason(status))"
        return "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n<hr><center>cosocket</center>\r\n</body>\r\n</html>\r\n"
    }
}

extension ByteBuffer {
    /// Writes a non-negative integer in decimal without going through `String`.
    mutating func writeDecimal(_ value: Int) {
        guard value > 0 else {
            writeInteger(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for any Int
        var remaining = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while remaining > 0 {
                count += 1
                raw[24 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            writeBytes(UnsafeRawBufferPointer(rebasing: raw[(24 - count)...]))
        }
    }
}
