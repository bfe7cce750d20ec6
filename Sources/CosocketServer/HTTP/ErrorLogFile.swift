import CosocketLua

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
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var stamp = [CChar](repeating: 0, count: 32)
        let length = strftime(&stamp, stamp.count, "%Y/%m/%d %H:%M:%S", &parts)
        var line = String(decoding: stamp.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        line += " [\(level.name)] \(getpid())#0: \(message)\n"
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
