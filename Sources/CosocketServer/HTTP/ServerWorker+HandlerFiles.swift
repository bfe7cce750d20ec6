import CosocketCore
import CosocketLua
import Glibc

/// Why a handler's code could not be loaded, in nginx's words. A missing file is a 404 for
/// the rewrite, access and content phases, as the reference answers it.
enum HandlerLoadError: Error, CustomStringConvertible {
    case inline(message: String)
    case file(path: String, message: String, missing: Bool)

    var description: String {
        switch self {
        case .inline(let message): return "failed to load inlined Lua code: \(message)"
        case .file(let path, let message, _): return "failed to load external Lua file \"\(path)\": \(message)"
        }
    }

    /// The status a request phase answers with.
    var status: Int {
        if case .file(_, _, missing: true) = self { return 404 }
        return 500
    }
}

extension ServerWorker {
    /// A `*_by_lua_file` whose path is known per request: its variables expanded, read and
    /// compiled once per path (lua-nginx-module's code cache is keyed by the path too).
    func compileFile(_ template: String, for request: RequestContext?) throws(HandlerLoadError) -> Int32 {
        var path = request.map { request in VariableTemplate.expand(template) { request.variable($0) } } ?? template
        if !path.hasPrefix("/") { path = lua.configuration.prefix + path }
        if let reference = compiledFiles[path] { return reference }
        guard let code = FileContents.read(path) else {
            let failure = errno
            throw .file(path: path, message: "cannot open \(path): \(String(cString: strerror(failure)))", missing: failure == ENOENT)
        }
        do {
            let reference = try lua.load(code, chunkName: "@" + path)
            compiledFiles[path] = reference
            return reference
        } catch {
            throw .file(path: path, message: "\(error)", missing: false)
        }
    }
}
