import Foundation

/// The only I/O the config parser does — reading files and listing directories
/// for `include` — behind two closures, so tests can run on in-memory files
/// and the server on the real file system.
public struct ConfigFileSystem: Sendable {
    /// Returns the file's bytes. Throw a `ConfigFileError` to get nginx's
    /// `open() "..." failed (errno: text)` wording; other errors are rendered
    /// with `String(describing:)`.
    public var readFile: @Sendable (_ path: String) throws -> [UInt8]
    /// Entry names (not paths) of a directory, or nil if it cannot be listed.
    /// Only used to expand `include` globs.
    public var listDirectory: @Sendable (_ path: String) -> [String]?

    public init(readFile: @escaping @Sendable (_ path: String) throws -> [UInt8],
                listDirectory: @escaping @Sendable (_ path: String) -> [String]?) {
        self.readFile = readFile
        self.listDirectory = listDirectory
    }

    /// The real file system.
    public static let local = ConfigFileSystem(
        readFile: { path throws(ConfigFileError) in try readLocalFile(path) },
        listDirectory: { path in try? FileManager.default.contentsOfDirectory(atPath: path) }
    )

    /// Files held in memory, keyed by absolute path (e.g. for tests, or a
    /// configuration passed inline). Directories are implied by the paths.
    public static func inMemory(_ files: [String: String]) -> ConfigFileSystem {
        inMemory(bytes: files.mapValues { Array($0.utf8) })
    }

    /// Byte-exact variant of `inMemory(_:)`.
    public static func inMemory(bytes files: [String: [UInt8]]) -> ConfigFileSystem {
        ConfigFileSystem(
            readFile: { path throws(ConfigFileError) in
                guard let data = files[path] else { throw ConfigFileError.noSuchFile }
                return data
            },
            listDirectory: { path in
                let dir = path.hasSuffix("/") ? path : path + "/"
                var names = Set<String>()
                for key in files.keys where key.hasPrefix(dir) {
                    let rest = key.dropFirst(dir.count)
                    if let name = rest.split(separator: "/").first { names.insert(String(name)) }
                }
                return names.isEmpty ? nil : Array(names)
            }
        )
    }
}

/// A failed system call while reading a config file, rendered like nginx:
/// `open() "<path>" failed (<code>: <reason>)`.
public struct ConfigFileError: Error, Sendable, Hashable {
    /// The failing call as nginx names it, e.g. `open()`.
    public var operation: String
    /// errno value.
    public var code: Int32
    /// strerror text.
    public var reason: String

    public init(operation: String = "open()", code: Int32, reason: String) {
        self.operation = operation
        self.code = code
        self.reason = reason
    }

    /// ENOENT, as used by the in-memory file system.
    public static let noSuchFile = ConfigFileError(code: 2, reason: "No such file or directory")

    static func fromErrno(_ operation: String) -> ConfigFileError {
        let code = errno
        return ConfigFileError(operation: operation, code: code, reason: String(cString: strerror(code)))
    }
}

private func readLocalFile(_ path: String) throws(ConfigFileError) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw .fromErrno("open()") }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw .fromErrno("read()")
        }
        if n == 0 { return result }
        result.append(contentsOf: chunk[0..<n])
    }
}
