#if canImport(Glibc)
import Glibc
#endif

/// nginx's error log: `2026/11/26 15:00:00 [error] 1234#0: message` lines, appended to a file
/// (or stderr), filtered by level.
public final class ErrorLogFile: LuaErrorLog, @unchecked Sendable {
    private let descriptor: Int32
    private let level: LuaLogLevel

    /// `path` nil writes to stderr.
    public init(path: String?, level: LuaLogLevel) {
        self.level = level
        if let path, path != "stderr", case let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644), fd >= 0 {
            descriptor = fd
        } else {
            descriptor = 2
        }
    }

    public func log(_ level: LuaLogLevel, _ message: String) {
        guard level <= self.level else { return }
        var line = "\(Clock.format("%Y/%m/%d %H:%M:%S", utc: false)) [\(level == .stderr ? "" : level.name)] \(getpid())#0: \(message)\n"
        line.withUTF8 { writeAll(descriptor, UnsafeRawBufferPointer($0)) }
    }
}
