import CosocketLua

/// `ngx.exec`'s target: a URI (whose location is found after the server's rewrite script
/// runs again, as after nginx's internal redirect) or a named location (entered directly,
/// the URI and arguments unchanged).
enum InternalRedirect {
    case uri
    case named(String)

    /// What nginx's cycle error names.
    func target(_ path: String) -> String {
        if case .named(let name) = self { return name }
        return path
    }
}

extension RequestContext {
    /// `ngx.exec`: recorded here; the jump happens when the running phase has ended (see
    /// ``ServerWorker/startNextPhase(of:in:)``), through the same path as
    /// `ngx.req.set_uri(uri, true)` and `rewrite ... last`.
    func internalRedirect(path: String, args: String?) -> Bool {
        // `ngx.say` output is held here, but nginx's would have sent the head already.
        guard !luaWroteOutput, !headersSent else { return false }
        if path.hasPrefix("@") {
            pendingRedirect = .named(path)
        } else {
            pendingRedirect = .uri
            pathOverride = path
            self.args = args
        }
        uriJumpPending = true
        return true
    }

    /// `copy_all_vars` and `share_all_vars`: the parent's variable values, over the
    /// subrequest location's defaults.
    func inheritVariables(from parent: RequestContext) {
        for (name, value) in parent.userVariables { userVariables[name] = value }
        // A script of constant `set`s does not run: its values stand for it, as its `set`s
        // would overwrite the copies.
        if !location.settings.runsScript {
            for (name, value) in location.settings.declaredVariables { userVariables[name] = value }
        }
    }

    /// `share_all_vars`: what the subrequest set is the parent's now.
    func adoptVariables(of sub: RequestContext) {
        for (name, value) in sub.userVariables { userVariables[name] = value }
    }
}
