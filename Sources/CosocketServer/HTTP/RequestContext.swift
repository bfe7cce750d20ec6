import CosocketLua
import NIOCore

/// One HTTP request on its way through the phases: the Lua request host (`ngx.var`,
/// `ngx.req`, `ngx.header`, `ngx.status`), the sink of `ngx.say`, and the response it builds.
final class RequestContext: LuaRequestHost, LuaOutput, LuaExitHandler {
    let head: HTTPRequestHead
    let body: ByteBuffer?
    let location: LocationConfiguration
    let remoteAddress: String
    let serverPort: Int
    var response = HTTPResponseHead()
    var responseBody = ByteBuffer()
    private var userVariables: [String: String] = [:]
    private(set) var headersSent = false
    /// `ngx.exit(status)` with a status of 300 or more asks for nginx's error page.
    var exitStatus: Int?

    init(head: HTTPRequestHead, body: ByteBuffer?, location: LocationConfiguration, remoteAddress: String, serverPort: Int) {
        self.head = head
        self.body = body
        self.location = location
        self.remoteAddress = remoteAddress
        self.serverPort = serverPort
        for (name, value) in location.variables { userVariables[name] = value }
    }

    // MARK: LuaRequestHost

    var method: String { head.methodName }
    var requestURI: String { head.uri }
    var path: String { head.path }
    var query: String { head.query ?? "" }
    var httpVersion: Double { head.version == .http1_1 ? 1.1 : 1.0 }
    var requestHeaders: [(name: String, value: String)] { head.headers }
    var requestBody: [UInt8]? { body.map { Array($0.readableBytesView) } }
    var rawHeader: String { String(buffer: head.bytes) }
    var status: Int {
        get { response.status }
        set { response.status = newValue }
    }

    func variable(_ name: String) -> String? {
        if let value = userVariables[name] { return value }
        switch name {
        case "uri", "document_uri": return path
        case "args", "query_string": return head.query
        case "request_uri": return head.uri
        case "request_method": return head.methodName
        case "host": return head.host ?? "localhost"
        case "remote_addr": return remoteAddress
        case "server_port": return String(serverPort)
        case "scheme": return "http"
        case "server_protocol": return head.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0"
        case "content_length": return head.contentLength.map(String.init)
        case "status": return String(response.status)
        default: break
        }
        if name.hasPrefix("http_") {
            return head.header(named: String(name.dropFirst(5)).replacing("_", with: "-"))
        }
        if name.hasPrefix("arg_"), let query = head.query {
            let wanted = Array(name.dropFirst(4).utf8)
            for pair in NgxCodec.decodeArgs(Array(query.utf8)) where pair.key == wanted {
                return pair.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
        }
        return nil
    }

    func setVariable(_ name: String, _ value: String?) -> Bool {
        guard userVariables[name] != nil else { return false }
        userVariables[name] = value ?? ""
        return true
    }

    func responseHeader(_ name: String) -> [String]? { response.values(name) }

    func setResponseHeader(_ name: String, _ values: [String]?) { response.set(name, values) }

    // MARK: LuaOutput

    func write(_ bytes: UnsafeRawBufferPointer) {
        responseBody.writeBytes(bytes)
    }

    func flush() {}

    // MARK: LuaExitHandler

    func handleExit(status: Int, context: LuaContext) -> Bool {
        if status >= 200 {
            response.status = status
            if status >= 300 && responseBody.readableBytes == 0 { exitStatus = status }
        }
        return false
    }

    /// The complete response: head and body in one buffer, one write.
    func serialize(keepAlive: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var body = responseBody
        if let exitStatus {
            body = ByteBuffer(string: HTTPResponseHead.errorPage(exitStatus))
            response.set("Content-Type", ["text/html"])
        }
        var buffer = allocator.buffer(capacity: 256 + body.readableBytes)
        // nginx answers with HTTP/1.1 whatever the request's version.
        response.write(into: &buffer, version: "HTTP/1.1", bodyLength: body.readableBytes, keepAlive: keepAlive, defaultType: location.defaultType)
        headersSent = true
        if head.method != .head { buffer.writeBuffer(&body) }
        return buffer
    }
}
