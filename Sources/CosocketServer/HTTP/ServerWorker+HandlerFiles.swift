import CosocketCore
import CosocketLua
import Glibc

/// Why a handler's code could not be loaded, in nginx's words. A missing file is a 404 for
/// the rewrite, access and content phases, as the reference answers it.
enum HandlerLoadError: Error, CustomStringConvertible {
    case inline(message: String)
    case file(path: String, message: String, errno: Int32 = 0)

    var description: String {
        switch self {
        case .inline(let message): return "failed to load inlined Lua code: \(message)"
        case .file(let path, let message, _): return "failed to load external Lua file \"\(path)\": \(message)"
        }
    }

    /// The status a request phase answers with: 404 for a missing file, 503 for one it may
    /// not read (the reference's answers), 500 otherwise.
    var status: Int {
        guard case .file(_, _, let code) = self else { return 500 }
        switch code {
        case ENOENT, ENOTDIR: return 404
        case EACCES: return 503
        default: return 500
        }
    }
}

extension ServerWorker {
    /// A `*_by_lua_file` whose path is known per request: its variables expanded, read and
    /// compiled once per path (lua-nginx-module's code cache is keyed by the path too).
    func compileFile(_ template: String, for request: RequestContext?) throws(HandlerLoadError) -> Int32 {
        var path = request.map { request in
            VariableTemplate.expand(template) { name in Int(name).map { request.capture($0) ?? "" } ?? request.variable(name) }
        } ?? template
        if !path.hasPrefix("/") { path = lua.configuration.prefix + path }
        if let reference = compiledFiles[path] { return reference }
        guard let code = FileContents.read(path) else {
            let failure = errno
            throw .file(path: path, message: "cannot open \(path): \(String(cString: strerror(failure)))", errno: failure)
        }
        do {
            let reference = try lua.load(code, chunkName: "@" + path)
            compiledFiles[path] = reference
            return reference
        } catch {
            throw .file(path: path, message: "\(error)")
        }
    }
}
