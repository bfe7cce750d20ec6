import NIOCore

/// The status line and headers of a response, written straight into the outgoing buffer.
struct HTTPResponseHead {
    var status = 200
    /// Header names as set (case kept), values in order; `Content-Type` defaults per location.
    var headers: [(name: String, values: [String])] = []

    func values(_ name: String) -> [String]? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.values
    }

    mutating func set(_ name: String, _ values: [String]?) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
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
        buffer.writeString("HTTP/1.1 \(status) \(Self.reason(status))\r\nServer: cosocket\r\n")
        var hasType = false
        for (name, values) in headers {
            if name.lowercased() == "content-type" { hasType = true }
            if name.lowercased() == "content-length" || name.lowercased() == "connection" { continue }
            for value in values { buffer.writeString("\(name): \(value)\r\n") }
        }
        if !hasType && status != 204 && status != 304 { buffer.writeString("Content-Type: \(defaultType)\r\n") }
        switch framing {
        case .length(let length): buffer.writeString("Content-Length: \(length)\r\n")
        case .chunked: buffer.writeString("Transfer-Encoding: chunked\r\n")
        case .untilClose: break
        }
        buffer.writeString(keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n")
    }

    static func reason(_ status: Int) -> String {
        switch status {
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
        case 413: return "Request Entity Too Large"
        case 414: return "Request-URI Too Large"
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
        // nginx's 302 page says "Found" although its status line says "Moved Temporarily".
        let title = status == 302 ? "302 Found" : "\(status) \(reason(status))"
        return "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n<hr><center>cosocket</center>\r\n</body>\r\n</html>\r\n"
    }
}
