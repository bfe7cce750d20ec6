#if canImport(Glibc)
import Glibc
#endif

/// What `try_files` decided before the content phase.
enum TryFilesOutcome {
    /// A file was found: its name is the URI now, and the location's content handler serves it.
    case found
    /// `=code`: the request ends with that status.
    case ended
    /// The fallback URI or named location: the request jumps there.
    case redirect
}

extension RequestContext {
    /// nginx's try-files phase, once per location the request enters.
    func runTryFiles(_ tryFiles: TryFiles) -> TryFilesOutcome {
        triedFiles = true
        for template in tryFiles.files {
            // A `/` ending the argument (not its value) looks for a directory, and is not
            // part of the URI that is tried.
            let wantsDirectory = template.hasSuffix("/") && template.count > 1
            let name = VariableTemplate.expand(wantsDirectory ? String(template.dropLast()) : template, scriptVariable)
            var info = stat()
            guard stat(filePath(for: name), &info) == 0 else { continue }
            guard (info.st_mode & S_IFMT == S_IFDIR) == wantsDirectory else { continue }
            pathOverride = name
            return .found
        }
        switch tryFiles.fallback {
        case .status(let code):
            response.status = code
            if code >= 300 { exitStatus = code }
            return .ended
        case .uri(let template):
            let uri = VariableTemplate.expand(template, scriptVariable)
            if uri.hasPrefix("@") {
                pendingRedirect = .named(uri)
            } else {
                // nginx's `ngx_http_split_args`: arguments only from the fallback itself
                // (empty, not missing, without a `?`: `ngx.var.args` is "").
                pendingRedirect = .uri
                if let question = uri.firstIndex(of: "?") {
                    pathOverride = String(uri[..<question])
                    args = String(uri[uri.index(after: question)...])
                } else {
                    pathOverride = uri
                    args = ""
                }
            }
            uriJumpPending = true
            return .redirect
        }
    }
}
