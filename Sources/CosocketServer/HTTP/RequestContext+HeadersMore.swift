#if canImport(Glibc)
import Glibc
#endif
import CosocketLua

/// headers-more's edits (``HeaderEdit``): the response's just before its head is written (after
/// `header_filter_by_lua*`), the request's once the rewrite-module script has run and before
/// the Lua phases (the module's rewrite handler runs before lua-nginx-module's postponed one).
extension RequestContext {
    /// headers-more's edits, then `expires` and `add_header`'s, as nginx's filter order has them.
    func applyHeaderEdits() {
        applyOutputHeaderEdits()
        if let expires = location.settings.expires { applyExpires(expires) }
        applyAddedHeaders()
    }

    /// `Expires` replaces the response's own, `Cache-Control` the first of its own (the
    /// others go), each in its place, else each added at the end.
    private func applyExpires(_ expires: Expires) {
        var rule = expires.rule
        if let template = expires.template {
            guard let parsed = Expires.rule(template.map { VariableTemplate.expand($0, scriptVariable) }) else { return }
            rule = parsed
        }
        guard let rule else { return }
        var lastModified: Int?
        if var text = response.builtInLastModified ?? response.values("Last-Modified")?.last {
            lastModified = text.withUTF8 { HTTPDate.parse(UnsafeRawBufferPointer($0)) }
        }
        guard let values = Expires.headers(rule, status: exitStatus ?? response.status, now: time(nil), lastModified: lastModified) else { return }
        for (name, value) in [("Expires", values.expires), ("Cache-Control", values.cacheControl)] {
            if let index = response.headers.firstIndex(where: { HTTPResponseHead.sameName($0.name, name) }) {
                response.headers[index].values = [value]
            } else {
                response.headers.append((name, [value]))
            }
        }
    }

    private func applyOutputHeaderEdits() {
        for edit in location.settings.outputHeaderEdits {
            let type = response.omitsContentType ? nil : response.values("Content-Type")?.last ?? location.contentType(forExtension: pathExtension())
            guard edit.applies(status: exitStatus ?? response.status, type: type) else { continue }
            if let template = edit.value {
                response.set(edit.name, [VariableTemplate.expand(template, scriptVariable)])
                if HTTPResponseHead.sameName(edit.name, "content-type") { response.omitsContentType = false }
                continue
            }
            if edit.isPrefix {
                response.headers.removeAll { edit.names($0.name) }
            } else {
                response.set(edit.name, nil)
            }
            // nginx's own headers are cleared by name too.
            if edit.names("Server") { response.omitsServer = true }
            if edit.names("Date") { response.omitsDate = true }
            if edit.names("Content-Type") { response.omitsContentType = true }
        }
    }

    private func applyAddedHeaders() {
        let status = exitStatus ?? response.status
        for header in location.settings.addedHeaders where header.applies(to: status) {
            let value = VariableTemplate.expand(header.value, scriptVariable)
            guard !value.isEmpty else { continue }
            response.append(header.name, value)
        }
    }

    /// `allow`/`deny`: whether the client may go on; a denied one is logged as nginx logs it.
    func passesAccessRules() -> Bool {
        let client = remoteAddress == "unix:" ? nil : AccessRule.address(remoteAddress)
        guard AccessRule.allows(location.settings.accessRules, client) else {
            logError("access forbidden by rule")
            return false
        }
        return true
    }

    func applyInputHeaderEdits() {
        for edit in location.settings.inputHeaderEdits {
            guard edit.applies(status: nil, type: requestHeader(named: "Content-Type")) else { continue }
            if let template = edit.value {
                if edit.replaceOnly && requestHeader(named: edit.name) == nil { continue }
                setRequestHeader(edit.name, [VariableTemplate.expand(template, scriptVariable)])
            } else if edit.isPrefix {
                let names = (editedHeaders ?? head.headers).map(\.name).filter { edit.names($0) }
                for name in names { setRequestHeader(name, nil) }
            } else {
                setRequestHeader(edit.name, nil)
            }
        }
    }
}
