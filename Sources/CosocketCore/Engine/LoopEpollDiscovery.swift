#if os(Linux)
import Glibc

/// Finds the epoll set of a NIO event loop, which NIO does not expose: it is the `eventpoll`
/// descriptor of this process whose `/proc/self/fdinfo` entry lists, among the descriptors it
/// watches, one that only that loop has registered.
enum LoopEpollDiscovery {
    /// The epoll descriptor watching `descriptor`, if exactly one does.
    static func epollWatching(_ descriptor: CInt) -> CInt? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var found: [CInt] = []
        while let entry = readdir(directory) {
            let name = Self.name(of: entry)
            guard let candidate = CInt(name), isEventPoll(candidate),
                let info = FileContents.read("/proc/self/fdinfo/\(candidate)"),
                watchedDescriptors(inFDInfo: String(decoding: info, as: UTF8.self)).contains(descriptor)
            else { continue }
            found.append(candidate)
        }
        return found.count == 1 ? found[0] : nil
    }

    /// The entry's name, read in place up to its NUL. Copying `d_name` out (a 256-byte tuple)
    /// read past the entry: glibc packs entries at their `d_reclen`, so the last one of a
    /// buffer can end well before 256 bytes of name (AddressSanitizer: heap-buffer-overflow).
    static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        guard let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) else { return "" }
        return String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
    }

    private static func isEventPoll(_ descriptor: CInt) -> Bool {
        var target = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/self/fd/\(descriptor)", &target, target.count - 1)
        guard length > 0 else { return false }
        return String(decoding: target.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) == "anon_inode:[eventpoll]"
    }

    /// The descriptors an epoll set's fdinfo text lists (`tfd: <fd> events: ...` lines).
    static func watchedDescriptors(inFDInfo text: String) -> [CInt] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "tfd:" else { return nil }
            return CInt(fields[1])
        }
    }
}
#endif
