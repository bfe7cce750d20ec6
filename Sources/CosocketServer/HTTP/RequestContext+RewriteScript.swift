import Glibc

extension RequestContext: RewriteScriptHost {
    /// A variable as the configuration names it: `$1`..`$9` are the captures (which
    /// `ngx.var["1"]` is not).
    func scriptVariable(_ name: String) -> String? {
        if let first = name.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            return Int(name).flatMap { captures[$0] }
        }
        return variable(name)
    }

    /// `if (-f path)` and its kin, with `stat` as nginx's `ngx_open_cached_file` does it
    /// (`-x` asks `access(X_OK)`). A blocking call, as in nginx without `open_file_cache`.
    func fileTest(_ test: RewriteCondition.FileTest, _ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        switch test {
        case .file: return info.st_mode & S_IFMT == S_IFREG
        case .directory: return info.st_mode & S_IFMT == S_IFDIR
        case .exists: return true
        case .executable: return access(path, X_OK) == 0
        }
    }

    var scriptPath: String { path }
    var scriptArgs: String? { variable("args") }

    func rewriteURI(path: String, args: String?) {
        setURI(path, jump: false)
        if let args { _ = setVariable("args", args) }
    }
}
