import CosocketLua
import NIOCore

/// What ties a subrequest to the request that issued it: where its result goes, and how
/// deep it is.
///
/// A subrequest is a ``RequestContext`` of its own (its location, variables, `ngx.ctx`,
/// method, URI and body) sharing its parent's head and connection details; it runs the
/// location's rewrite-module script and Lua phases (without `access_by_lua*`, which nginx
/// skips for subrequests) and its output filters, and its response goes into memory instead
/// of the socket. When it has ended, ``done`` hands the parent its result.
final class SubrequestLink {
    let parent: RequestContext
    /// `share_all_vars`: the parent's variables are this subrequest's; its changes go back
    /// to the parent when it ends (the parent waits meanwhile).
    let sharesVariables: Bool
    var done: ((SubrequestResult) -> Void)?

    init(parent: RequestContext, sharesVariables: Bool, done: @escaping (SubrequestResult) -> Void) {
        self.parent = parent
        self.sharesVariables = sharesVariables
        self.done = done
    }
}

/// The results of one `ngx.location.capture_multi`, collected until the last subrequest ends.
private final class SubrequestGroup {
    var results: [SubrequestResult?]
    var pending: Int
    let done: ([SubrequestResult]) -> Void

    init(count: Int, done: @escaping ([SubrequestResult]) -> Void) {
        results = Array(repeating: nil, count: count)
        pending = count
        self.done = done
    }

    func finished(_ index: Int, _ result: SubrequestResult) {
        guard results.indices.contains(index), results[index] == nil else { return }
        results[index] = result
        pending -= 1
        if pending == 0 {
            done(results.map { $0 ?? SubrequestResult(status: 500, headers: [], body: ByteBuffer(), truncated: true) })
        }
    }
}

extension RequestContext {
    /// nginx's `NGX_HTTP_MAX_SUBREQUESTS` + 1: a main request may nest subrequests 51 deep.
    static let subrequestDepthLimit = 51

    var isSubrequest: Bool { subrequest != nil }

    func startSubrequests(_ specs: [SubrequestSpec], done: @escaping ([SubrequestResult]) -> Void) -> String? {
        guard subrequestsLeft > 0 else {
            logError("lua subrequests cycle while processing \"\(specs.first?.path ?? path)\"")
            return "failed to issue subrequest: -1"
        }
        // Every subrequest is made (and its options checked) before any runs, so that a
        // refused option leaves none started.
        var made: [RequestContext] = []
        for spec in specs {
            guard let method = RequestRewriteMethods.name(spec.method) else {
                logError("unsupported HTTP method: \(spec.method)")
                return "failed to adjust the subrequest: -1"
            }
            let sub = makeSubrequest(spec, method: method)
            for (name, value) in spec.extraVariables where !sub.setVariable(name, value) && !sub.defineInherited(name, value) {
                logError("variable \"\(name)\" cannot be assigned a value (maybe you forgot to define it first?) ")
                return "failed to adjust the subrequest: -1"
            }
            made.append(sub)
        }
        let group = SubrequestGroup(count: made.count, done: done)
        for (index, sub) in made.enumerated() {
            sub.subrequest?.done = { [group] result in group.finished(index, result) }
            if let reference = specs[index].ctxReference {
                worker.runContext(of: sub, phase: "rewrite").setCtx(reference: reference)
            }
        }
        for sub in made { worker.handle(sub) }
        return nil
    }

    private func makeSubrequest(_ spec: SubrequestSpec, method: String) -> RequestContext {
        let target = server?.locations.match(uri: spec.path)
        let sub = RequestContext(
            head: head, body: nil, location: target?.payload ?? location, peer: peer, serverPort: serverPort,
            connection: nil, worker: worker)
        sub.subrequest = SubrequestLink(parent: self, sharesVariables: spec.variables == .share) { _ in }
        sub.subrequestsLeft = subrequestsLeft - 1
        sub.server = server
        sub.serverName = serverName
        sub.tls = tls
        sub.captures = target?.captures ?? .none
        sub.pathOverride = spec.path
        sub.args = spec.args
        sub.methodOverride = method
        sub.editedHeaders = requestHeaders
        sub.contentLengthVariable = contentLengthVariable
        // No location matches: the subrequest answers 404, as nginx's would with no handler.
        if target == nil { sub.noLocation = true }
        switch spec.variables {
        case .fresh: break
        case .copy, .share: sub.inheritVariables(from: self)
        }
        if let body = spec.body {
            var buffer = ByteBuffer()
            buffer.writeBytes(body)
            sub.body = buffer
            sub.replaceContentLength(String(body.count))
        } else if !spec.alwaysForwardBody && method != "PUT" && method != "POST" && (head.contentLength ?? 0) > 0 {
            // (nginx 1.22's module drops the header, whatever its source says.)
            sub.replaceContentLength(nil)
        } else if !bodyPending {
            sub.body = body
            sub.bodyFile = bodyFile
        }
        return sub
    }

    /// The subrequest's own `Content-Length` request header (and `$content_length`), or
    /// none.
    private func replaceContentLength(_ value: String?) {
        var headers = (editedHeaders ?? head.headers).filter { !HTTPResponseHead.sameName($0.name, "content-length") }
        if let value { headers.insert((name: "Content-Length", value: value), at: 0) }
        editedHeaders = headers
        contentLengthVariable = value
    }

    /// nginx's variables are the whole configuration's: the `vars` option may set one that
    /// the subrequest's location does not `set` but a request it came from does.
    private func defineInherited(_ name: String, _ value: String) -> Bool {
        var ancestor = subrequest?.parent
        while let request = ancestor {
            if request.userVariables[name] != nil {
                userVariables[name] = value
                return true
            }
            ancestor = request.subrequest?.parent
        }
        return false
    }

    /// The response as the parent sees it, once the subrequest has ended: nginx's headers
    /// with the default `Content-Type`, and the body unless the method was HEAD. A
    /// subrequest that failed, or answered with a special response, is `truncated`.
    func deliverSubrequestResult() {
        guard let link = subrequest, let done = link.done else { return }
        link.done = nil
        if link.sharesVariables { link.parent.adoptVariables(of: self) }
        var headers: [(name: String, value: String)] = []
        var hasType = false
        for (name, values) in response.headers {
            if HTTPResponseHead.sameName(name, "content-type") { hasType = true }
            for value in values { headers.append((name, value)) }
        }
        if !hasType { headers.append(("Content-Type", location.contentType(forExtension: pathExtension()))) }
        var body = responseBody
        if method == "HEAD" { body.clear() }
        responseBody = ByteBuffer()
        let truncated = subrequestFailed || exitStatus != nil
        done(SubrequestResult(status: response.status, headers: headers, body: body, truncated: truncated))
    }
}

/// Method names by nginx's method bits, for subrequests.
enum RequestRewriteMethods {
    static func name(_ bit: Int) -> String? {
        switch bit {
        case 2: return "GET"
        case 4: return "HEAD"
        case 8: return "POST"
        case 16: return "PUT"
        case 32: return "DELETE"
        case 64: return "MKCOL"
        case 128: return "COPY"
        case 256: return "MOVE"
        case 512: return "OPTIONS"
        case 1024: return "PROPFIND"
        case 2048: return "PROPPATCH"
        case 4096: return "LOCK"
        case 8192: return "UNLOCK"
        case 16384: return "PATCH"
        case 32768: return "TRACE"
        default: return nil
        }
    }
}
