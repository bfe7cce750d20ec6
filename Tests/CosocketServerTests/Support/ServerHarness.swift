import CosocketLua
import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

#if canImport(Glibc)
import Glibc
#endif

/// An error log that keeps its lines, so tests can look for tracebacks and messages.
final class RecordingLog: LuaErrorLog, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    func log(_ level: LuaLogLevel, _ message: String) {
        lock.withLock { entries.append("[\(level.name)] \(message)") }
    }

    var lines: [String] { lock.withLock { entries } }

    func contains(_ text: String) -> Bool { lines.contains { $0.contains(text) } }

    func count(of text: String) -> Int { lines.filter { $0.contains(text) }.count }

    /// Waits up to `seconds` for a line containing `text` (log phases run after the response).
    func waitFor(_ text: String, seconds: Double = 15) -> Bool {
        waitUntil(seconds: seconds) { self.contains(text) }
    }

    /// Waits for a line that contains each of `parts`.
    func waitFor(_ parts: String..., seconds: Double = 15) -> Bool {
        waitUntil(seconds: seconds) { self.lines.contains { line in parts.allSatisfy { line.contains($0) } } }
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// A fresh temporary directory (the server's prefix), removed by `remove()`.
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "cosocket-server-tests-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path + "/conf", withIntermediateDirectories: true)
    try? FileManager.default.createDirectory(atPath: path + "/logs", withIntermediateDirectories: true)
    return path
}

/// Runs a Python client script (its descriptors are not this process's) to its end: its exit
/// status and what it printed.
func runPython(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [script] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

func writeFile(_ path: String, _ text: String) {
    try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// An `HTTPServer` started from configuration text on a free loopback port. `@PORT@` in the
/// text is the port; `files` are written under the temporary prefix first (paths relative to it).
final class TestServer: @unchecked Sendable {
    let port: Int
    let prefix: String
    let log = RecordingLog()
    let server: HTTPServer
    let configuration: ServerConfiguration

    init(_ text: String, files: [String: String] = [:], port: Int? = nil) throws {
        let reservation = port == nil ? PortReservation() : nil
        defer { reservation?.release() }
        self.port = port ?? reservation?.port ?? 0
        prefix = makeTemporaryDirectory()
        for (path, contents) in files {
            writeFile(prefix + "/" + path.replacing("@PORT@", with: String(self.port)), contents.replacing("@PORT@", with: String(self.port)))
        }
        let main = prefix + "/conf/nginx.conf"
        writeFile(main, text.replacing("@PORT@", with: String(self.port)))
        configuration = try Self.load(main, prefix: prefix)
        server = HTTPServer(configuration: configuration, errorLog: log)
        try server.start()
    }

    /// A one-server configuration: `server` is the body of the `server {}` block (after its
    /// `listen`), `http` goes before it in `http {}`.
    convenience init(server body: String, http: String = "", main: String = "worker_processes 1;", files: [String: String] = [:]) throws {
        try self.init(
            """
            \(main)
            events {}
            http {
            \(http)
            server {
                listen 127.0.0.1:@PORT@;
            \(body)
            }
            }
            """,
            files: files
        )
    }

    static func load(_ path: String, prefix: String) throws -> ServerConfiguration {
        let nodes = try ConfigParser(prefix: prefix).parseFile(path)
        var builder = ConfigurationBuilder(prefix: prefix)
        builder.confPrefix = ConfigParser.confPrefix(prefix: prefix, mainFile: path)
        return try builder.build(nodes)
    }

    private var stopped = false

    /// `HTTPServer.quit()`, once.
    func quit() {
        guard !stopped else { return }
        stopped = true
        server.quit()
    }

    /// `HTTPServer.stop()`, once.
    func stopServer() {
        guard !stopped else { return }
        stopped = true
        server.stop()
    }

    func stop() {
        stopServer()
        try? FileManager.default.removeItem(atPath: prefix)
    }

    deinit { stop() }

    // MARK: Requests

    /// `GET path` on a new connection that closes after the response.
    func get(_ path: String, headers: [String] = [], version: String = "1.1") -> HTTPResponse {
        let client = HTTPClient(port: port)
        defer { client.close() }
        let host = headers.contains { $0.lowercased().hasPrefix("host:") } ? "" : "Host: test\r\n"
        client.send("GET \(path) HTTP/\(version)\r\n\(host)" + headers.map { $0 + "\r\n" }.joined() + "Connection: close\r\n\r\n")
        return client.readResponse() ?? HTTPResponse.none
    }

    /// Raw bytes out, everything until the server closes back.
    func exchange(_ request: String) -> String {
        let client = HTTPClient(port: port)
        defer { client.close() }
        client.send(request)
        return client.readAll()
    }
}

/// One parsed HTTP response.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: String
    /// The chunks' data when the body came chunked.
    var chunks: [String]?
    /// Whether the body ended by the connection closing (no length, not chunked).
    var untilClose = false
    var head: String

    static let none = HTTPResponse(status: 0, headers: [], body: "", head: "")

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    func headers(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
}

/// A blocking HTTP/1.x client on one connection, with a receive timeout so that no test can hang.
final class HTTPClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closedByPeer = false

    init(port: Int, timeoutSeconds: Int = 10) {
        fd = Loopback.tcpSocket()
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        Loopback.connect(fd, port: port)
    }

    func send(_ text: String) { Peer.send(fd, text) }

    func close() { Glibc.close(fd) }

    /// Closes with RST, as a client that goes away abruptly.
    func reset() {
        Peer.reset(fd)
        Glibc.close(fd)
    }

    /// Reads more bytes into the buffer; false at EOF, error or timeout.
    @discardableResult
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let got = recv(fd, &chunk, chunk.count, 0)
        if got <= 0 {
            closedByPeer = got == 0
            return false
        }
        buffer.append(contentsOf: chunk[0..<got])
        return true
    }

    func readAll() -> String {
        while fill() {}
        defer { buffer.removeAll() }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Reads until `text` has arrived (or EOF/timeout); returns and consumes what arrived.
    func readUntil(_ text: String) -> String {
        while !String(decoding: buffer, as: UTF8.self).contains(text) {
            guard fill() else { break }
        }
        defer { buffer.removeAll() }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Whether the server closed the connection (waits up to the receive timeout).
    func waitForClose() -> Bool {
        while fill() {}
        return closedByPeer
    }

    private func readLine() -> String? {
        while true {
            if let index = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[..<index]
                buffer.removeSubrange(...index)
                return String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
            }
            guard fill() else { return nil }
        }
    }

    private func read(count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// Reads one response; `headRequest` says it has no body.
    func readResponse(headRequest: Bool = false) -> HTTPResponse? {
        guard let statusLine = readLine() else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var response = HTTPResponse(status: status, headers: [], body: "", head: statusLine + "\r\n")
        while let line = readLine(), !line.isEmpty {
            response.head += line + "\r\n"
            guard let colon = line.firstIndex(of: ":") else { continue }
            response.headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if headRequest || status == 204 || status == 304 || status < 200 { return response }
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var chunks: [String] = []
            while let sizeLine = readLine(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) {
                if size == 0 {
                    _ = readLine()
                    response.chunks = chunks
                    response.body = chunks.joined()
                    return response
                }
                guard let data = read(count: size) else { break }
                chunks.append(String(decoding: data, as: UTF8.self))
                _ = readLine()
            }
            response.chunks = chunks
            response.body = chunks.joined()
            response.status = -response.status  // a chunked body that did not end properly
            return response
        }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            guard let data = read(count: length) else { return nil }
            response.body = String(decoding: data, as: UTF8.self)
            return response
        }
        response.untilClose = true
        response.body = readAll()
        return response
    }
}

/// What loading `text` as `/c/nginx.conf` (prefix `/c`, nothing on disk) says: `nil` when the
/// configuration is accepted, else the error's message in nginx's words.
func configurationError(_ text: String) -> String? {
    do {
        let nodes = try ConfigParser(fileSystem: .inMemory(["/c/nginx.conf": text])).parseFile("/c/nginx.conf")
        _ = try ConfigurationBuilder(prefix: "/c").build(nodes)
        return nil
    } catch let error as ConfigError {
        return error.message
    } catch {
        return "\(error)"
    }
}
