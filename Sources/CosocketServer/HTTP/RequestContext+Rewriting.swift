import CosocketCore
import CosocketLua

/// What Lua code changes of the request before later phases see it: headers
/// (`ngx.req.set_header`), method, URI (and a jump to the URI's location), and what the
/// variables built on them then read.
extension RequestContext {
    /// The request header `name` (case-insensitive), edited or as received.
    func requestHeader(named name: String) -> String? {
        guard let editedHeaders else { return head.header(named: name) }
        return editedHeaders.first { HTTPResponseHead.sameName($0.name, name) }?.value
    }

    /// `$host`: the host of the request line or `Host` header, lower case and without its
    /// port, else the server's name (nginx's `r->headers_in.server`).
    var hostName: String {
        let raw = editedHeaders == nil ? head.host : requestHeader(named: "host")
        guard var host = raw, !host.isEmpty else { return serverName.isEmpty ? "localhost" : serverName }
        if !host.hasPrefix("["), let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
        return host.lowercased()
    }

    /// A `return 3xx` target as nginx's header filter writes it: a path gets the scheme, the
    /// request's host (or the server's name) and the port unless it is the scheme's default,
    /// where `absolute_redirect` is on (`ngx.redirect` keeps its target as given, as there).
    func redirectLocation(_ target: String) -> String {
        guard target.hasPrefix("/"), location.settings.absoluteRedirect else { return target }
        let scheme = variable("scheme") ?? "http"
        let defaultPort = scheme == "https" ? 443 : 80
        let port = serverPort == defaultPort ? "" : ":\(serverPort)"
        return "\(scheme)://\(hostName)\(port)\(target)"
    }

    /// `$cookie_NAME`: the first `NAME=value` pair of the `Cookie` headers.
    func cookie(named name: Substring) -> String? {
        let headers = editedHeaders.map { $0.filter { HTTPResponseHead.sameName($0.name, "cookie") }.map(\.value) } ?? head.headers(named: "cookie")
        for header in headers {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals].lowercased() == name.lowercased() {
                    return String(trimmed[trimmed.index(after: equals)...])
                }
            }
        }
        return nil
    }

    func setRequestHeader(_ name: String, _ values: [String]?) {
        // One empty value removes the header, as nginx's input-header setter does.
        let values = values == [""] ? nil : values
        if HTTPResponseHead.sameName(name, "content-length") { contentLengthVariable = values?.first }
        setHeaderField(name, values)
    }

    /// Replaces the header fields named `name` (see ``setRequestHeader(_:_:)``).
    func setHeaderField(_ name: String, _ values: [String]?) {
        guard !name.isEmpty else { return }
        var headers = editedHeaders ?? head.headers
        let first = headers.firstIndex { HTTPResponseHead.sameName($0.name, name) }
        let kept = first.map { headers[$0].name } ?? name
        headers.removeAll { HTTPResponseHead.sameName($0.name, name) }
        // A replaced header keeps the name it arrived with, as nginx overwrites its value in place.
        let added = (values ?? []).map { (name: kept, value: $0) }
        headers.insert(contentsOf: added, at: min(first ?? headers.count, headers.count))
        editedHeaders = headers
    }

    func setMethod(_ name: String) {
        methodOverride = name
    }

    func setURI(_ path: String, jump: Bool) {
        pathOverride = path
        if jump { uriJumpPending = true }
    }

    var isInternal: Bool { uriJumps > 0 || subrequest != nil }

    var responseHeaders: [(name: String, values: [String])] { response.headers }

    var keepsConnection: Bool { keepAlive }

    /// After a phase that asked for a URI jump: the request takes the location its new URI
    /// matches (and its captures), and its phases start again from the first. Else the
    /// status to end with: 404 when no location matches, 500 after ten jumps (nginx's
    /// `rewrite or internal redirection cycle`).
    func takeJump() -> Int? {
        uriJumpPending = false
        uriJumps += 1
        let redirect = pendingRedirect
        pendingRedirect = nil
        guard uriJumps <= 10, let server else {
            if let redirect {
                logError("rewrite or internal redirection cycle while internally redirecting to \"\(redirect.target(path))\"")
            } else {
                logError("rewrite or internal redirection cycle while processing \"\(path)\"")
            }
            return 500
        }
        if case .named(let name)? = redirect {
            guard let named = server.locations.named(name) else {
                logError("could not find named location \"\(name)\"")
                return 500
            }
            moveTo(named)
            captures = .none
            nextPhase = 0
            return nil
        }
        guard let match = server.locations.match(uri: path) else { return 404 }
        moveTo(match.payload)
        captures = match.captures
        nextPhase = 0
        return nil
    }
}

extension TLSConnectionDetails {
    /// The `$ssl_*` variables (nil where nginx's is not found, empty where it is empty).
    func variable(_ name: String) -> String? {
        switch name {
        case "ssl_protocol": return protocolName
        case "ssl_cipher": return cipher
        case "ssl_server_name": return serverName
        case "ssl_session_reused": return sessionReused ? "r" : "."
        case "ssl_client_verify": return clientVerify
        case "ssl_client_s_dn": return clientSubject ?? ""
        default: return nil
        }
    }
}

extension RequestContext {
    /// A `map` variable's value for this request: its source's value looked up, the value's
    /// template expanded (a regex entry's captures are the request's from then on).
    func mapValue(_ map: VariableMap) -> String {
        var state = maps ?? MapState()
        if !map.volatile, let cached = state.values[map.variable] { return cached }
        guard !state.inProgress.contains(map.variable) else {
            logError("cycle while evaluating variable \"\(map.variable)\"")
            return ""
        }
        state.inProgress.append(map.variable)
        maps = state
        let (template, matched) = map.lookup(VariableTemplate.expand(map.source, scriptVariable))
        if let matched { captures = matched }
        let value = VariableTemplate.expand(template, scriptVariable)
        // Read again: the expansions may have read (and cached) other maps.
        state = maps ?? MapState()
        state.inProgress.removeAll { $0 == map.variable }
        if !map.volatile { state.values[map.variable] = value }
        maps = state
        return value
    }
}

/// A request's `map` variables: the values read so far (nginx caches them per request) and
/// those being worked out (a map whose source reads itself is a cycle). Made on first use.
struct MapState {
    var values: [String: String] = [:]
    var inProgress: [String] = []
}
