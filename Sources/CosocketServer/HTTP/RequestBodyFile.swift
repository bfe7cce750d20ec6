#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// A request body kept in a file, as nginx keeps one larger than `client_body_buffer_size`
/// (`ngx.req.get_body_file`). A temporary one (`auto_clean`, and every body spilled by the
/// host) is removed when the request lets go of it.
final class RequestBodyFile {
    let path: String
    private let removesFile: Bool
    /// Open while a spilled body is being written (`ngx.req.append_body`).
    private var descriptor: Int32 = -1
    private(set) var size = 0

    init(path: String, removesFile: Bool) {
        self.path = path
        self.removesFile = removesFile
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if removesFile { unlink(path) }
    }

    /// A new empty file in `directory` (made when missing, as nginx makes its temp path), or
    /// the error text.
    struct Failure: Error { let message: String }

    static func create(in directory: String) -> Result<RequestBodyFile, Failure> {
        mkdir(directory, 0o700)
        var template = Array((directory + "/XXXXXXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return .failure(Failure(message: "failed to create a temporary file in \"\(directory)\": \(String(cString: strerror(errno)))")) }
        let path = String(cString: template.map { $0 }, encoding: .utf8) ?? directory
        let file = RequestBodyFile(path: path, removesFile: true)
        file.descriptor = fd
        return .success(file)
    }

    /// Appends `bytes` (a blocking write, as nginx writes its temp files); the error text on
    /// failure.
    func append(_ bytes: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return "failed to write to \"\(path)\": \(String(cString: strerror(errno)))"
            }
            offset += written
        }
        size += bytes.count
        return nil
    }

    func finishWriting() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// The size of an existing file (`ngx.req.set_body_file`), or the reference's error.
    func measure() -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "stat() \"\(path)\" failed" }
        size = Int(info.st_size)
        return nil
    }
}

/// A body being built by `ngx.req.init_body` / `append_body` / `finish_body`: in memory up to
/// its buffer size, then in a temporary file.
struct RequestBodyBuilder {
    var memory = ByteBuffer()
    let bufferSize: Int
    let directory: String
    var file: RequestBodyFile?

    mutating func append(_ bytes: UnsafeRawBufferPointer) -> String? {
        if file == nil && memory.readableBytes + bytes.count > bufferSize {
            switch RequestBodyFile.create(in: directory) {
            case .failure(let failure): return failure.message
            case .success(let created):
                if let problem = memory.withUnsafeReadableBytes({ created.append($0) }) { return problem }
                memory.clear()
                file = created
            }
        }
        if let file { return file.append(bytes) }
        memory.writeBytes(bytes)
        return nil
    }
}
