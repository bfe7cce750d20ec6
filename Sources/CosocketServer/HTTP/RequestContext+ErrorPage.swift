/// `error_page`: a request about to end with nginx's own error response (its `exitStatus`)
/// goes on at the page its location names for that status instead, as
/// `ngx_http_special_response_handler` sends it there.
extension RequestContext {
    /// `true` when the request went on at the page (it is not ending); `false` when it ends
    /// now, with nginx's error response or the client redirect an `error_page` set up.
    func takeErrorPage() -> Bool {
        guard let status = exitStatus, subrequest == nil, !errorPageTaken, !headersSent else { return false }
        let settings = location.settings
        // nginx gives up on error pages after ten URI changes, as on any internal redirect.
        guard !settings.errorPages.isEmpty, uriJumps <= 10 else { return false }
        // Without `recursive_error_pages` a request gets one chance, found page or not.
        if !settings.recursiveErrorPages { errorPageTaken = true }
        guard let page = settings.errorPages.first(where: { $0.codes.contains(status) }) else { return false }
        switch page.status {
        case .original: errorStatus = status
        case .fixed(let code): errorStatus = code
        case .fromPage: errorStatus = nil
        }
        let destination = page.destination(scriptVariable)
        if case .redirect(let url) = destination {
            let code = page.redirectStatus
            errorStatus = code
            response.status = code
            response.builtInLocation = HTTPResponseHead.escapingLineBreaks(url)
            exitStatus = code
            errorPageTaken = true
            return false
        }
        exitStatus = nil
        responseBody.clear()
        // The page's location chooses the type again.
        response.set("Content-Type", nil)
        if head.method != .head { methodOverride = "GET" }
        if case .internalRedirect(let path, let args) = destination {
            pendingRedirect = .uri
            pathOverride = path
            self.args = args
        } else if case .named(let name) = destination {
            pendingRedirect = .named(name)
        }
        uriJumpPending = true
        worker.continueAtErrorPage(self)
        return true
    }
}

extension ServerWorker {
    /// The request's phases start again at the error page's location, with an empty `ngx.ctx`
    /// (an internal redirect destroys it).
    func continueAtErrorPage(_ request: RequestContext) {
        request.luaContext = nil
        if let runContext = request.runContext { lua.clearCtx(of: runContext) }
        request.nextPhase = 0
        guard jump(request) else { return request.end() }
        proceed(request)
    }
}
