#if canImport(Glibc)
import Glibc
#endif
import CosocketLua

/// nginx's static module, the content of a location that has no handler of its own: the file
/// at `root` + URI (or `alias` in place of the location's prefix), the `index` files for a
/// URI ending in `/`, a redirect to `URI/` for a directory, and nginx's 403, 404 and 405.
/// Read with blocking calls, as nginx reads files without `aio`.
extension RequestContext {
    func serveStaticFile() {
        // The method as it is now (an `error_page` made it GET). A POST is looked up, and
        // refused only once the file is found, as nginx's static module does.
        let method = methodOverride ?? head.methodName
        guard method == "GET" || method == "HEAD" || method == "POST" else { return fail(405) }
        let settings = location.settings
        let file = filePath(for: path)
        if path.hasSuffix("/") {
            for index in settings.indexFiles {
                let candidate = index.hasPrefix("/") ? VariableTemplate.expand(settings.staticRoot, scriptVariable) + index : file + index
                if case .regular(let info) = Self.fileKind(candidate) {
                    if method == "POST" { return fail(405) }
                    return send(candidate, info, extension: Self.pathExtension(of: index))
                }
            }
            if case .directory = Self.fileKind(file) {
                logError("directory index of \"\(file)\" is forbidden")
                return fail(403)
            }
            logError("\"\(file)\(settings.indexFiles.first ?? "index.html")\" is not found (2: No such file or directory)")
            return fail(404)
        }
        switch Self.fileKind(file) {
        case .regular(let info):
            if method == "POST" { return fail(405) }
            send(file, info, extension: pathExtension())
        case .directory:
            response.status = 301
            let query = head.query.map { "?" + $0 } ?? ""
            response.builtInLocation = HTTPResponseHead.escapingLineBreaks(redirectLocation(path + "/" + query))
            exitStatus = 301
        case .missing(let code):
            logError("open() \"\(file)\" failed (\(code): \(String(cString: strerror(code))))")
            fail(code == EACCES ? 403 : 404)
        }
    }

    /// The file a URI names: `root` + URI, or `alias` in place of a prefix location's prefix
    /// (a regex location's alias is the whole name, with its captures), as nginx maps them.
    func filePath(for uri: String) -> String {
        let settings = location.settings
        guard let alias = settings.staticAlias else { return VariableTemplate.expand(settings.staticRoot, scriptVariable) + uri }
        let expanded = VariableTemplate.expand(alias, scriptVariable)
        guard let prefix = settings.aliasedPrefix else { return expanded }
        return expanded + (uri.hasPrefix(prefix) ? String(uri.dropFirst(prefix.count)) : uri)
    }

    private func fail(_ status: Int) {
        response.status = status
        exitStatus = status
    }

    private enum FileKind {
        case regular(stat)
        case directory
        case missing(errno: Int32)
    }

    private static func fileKind(_ path: String) -> FileKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing(errno: errno) }
        if info.st_mode & S_IFMT == S_IFDIR { return .directory }
        guard info.st_mode & S_IFMT == S_IFREG else { return .missing(errno: ENOENT) }
        guard access(path, R_OK) == 0 else { return .missing(errno: EACCES) }
        return .regular(info)
    }

    private static func pathExtension(of name: String) -> String? {
        guard let dot = name.lastIndex(of: "."), !name[dot...].contains("/") else { return nil }
        return String(name[name.index(after: dot)...])
    }

    /// The file with nginx's `Last-Modified`, `ETag` and `Accept-Ranges`, or a 304 when the
    /// client's `If-Modified-Since` or `If-None-Match` matches.
    private func send(_ file: String, _ info: stat, extension pathExtension: String?) {
        let modified = Int(info.st_mtim.tv_sec)
        let size = Int(info.st_size)
        let lastModified = HTTPDate.format(modified)
        let etag = "\"" + String(modified, radix: 16) + "-" + String(size, radix: 16) + "\""
        response.set("Content-Type", [location.contentType(forExtension: pathExtension)])
        response.builtInLastModified = lastModified
        response.set("ETag", [etag])
        if requestHeader(named: "If-None-Match").map({ $0 == etag || $0 == "*" }) ?? (requestHeader(named: "If-Modified-Since") == lastModified) {
            response.status = 304
            return
        }
        // nginx's range filter offers ranges on a 200 only (not on an error page's status).
        if errorStatus == nil || errorStatus == 200 { response.set("Accept-Ranges", ["bytes"]) }
        guard let handle = fopen(file, "rb") else {
            logError("open() \"\(file)\" failed (\(errno): \(String(cString: strerror(errno))))")
            return fail(errno == EACCES ? 403 : 404)
        }
        defer { fclose(handle) }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
            if count <= 0 { break }
            chunk.withUnsafeBytes { append(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
    }
}
