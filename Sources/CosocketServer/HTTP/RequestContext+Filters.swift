import CosocketLua
import NIOCore

/// The output filters' pipeline: `header_filter_by_lua*` before the head, each chunk through
/// `body_filter_by_lua*`, and the flushes, `ngx.send_headers` and the end of the response
/// queued behind a filter that waits (`lua_filter_yield on`).
extension RequestContext {
    /// Output waiting for the filters, in order: chunks for `body_filter_by_lua*`, flushes,
    /// `ngx.send_headers`, the end of the response. `header_filter_by_lua*` runs before the first.
    /// With `lua_filter_yield on` a filter may wait (cosockets, `ngx.sleep`): the steps behind
    /// it wait too, so nothing of the response passes it.
    enum FilterStep {
        case chunk(ByteBuffer)
        case flush(whenWritten: (() -> Void)?)
        case headers
        /// The eof chunk, or the error page when the response is one.
        case endOfBody
        /// `ngx.eof`: the response ends, the handlers go on.
        case endOutput
        case finish
    }

    /// Runs the filter steps in order until one waits or none is left.
    func pumpFilters() {
        guard !pumping else { return }
        pumping = true
        defer { pumping = false }
        while !filtering, let step = filterSteps.first {
            if outputEnded {
                // Cut by a failed filter: what waits is dropped; flushes and the end still report.
                filterSteps.removeFirst()
                if case .flush(let whenWritten) = step { whenWritten?() }
                if case .finish = step { completeEnd() }
                continue
            }
            if !headerFilterDone {
                headerFilterDone = true
                if let source = location.settings.headerFilter {
                    runFilter(source, phase: "header_filter", chunk: nil) { [self] outcome, _ in
                        switch outcome {
                        case .failed: cutResponse()
                        // An error page for 300 and up; an empty response with the status for
                        // the others (and 444), as the reference answers.
                        case .exited(let status) where status >= 200:
                            exitStatus = status
                            if status < 300 || status == 444 { responseBody.clear() }
                        default: break
                        }
                    }
                    continue
                }
            }
            filterSteps.removeFirst()
            switch step {
            case .chunk(let bytes):
                filterChunk(bytes, eof: false)
            case .flush(let whenWritten):
                var out = streamedPart(last: false)
                if out.readableBytes == 0 || connection?.send(&out, whenWritten: whenWritten) != true { whenWritten?() }
            case .headers:
                guard !headersSent else { break }
                var out = ByteBuffer()
                writeStreamedHead(into: &out)
                connection?.send(&out, whenWritten: nil)
            case .endOfBody:
                if let exitStatus, !headersSent, location.settings.bodyFilter != nil {
                    // The error page goes through the body filter, and keeps its Content-Length.
                    responseBody.clear()
                    errorPageFiltered = true
                    filterChunk(ByteBuffer(string: HTTPResponseHead.errorPage(exitStatus, serverTokens: location.settings.serverTokens)), eof: true)
                } else {
                    filterChunk(ByteBuffer(), eof: true)
                }
            case .endOutput:
                finishResponse()
            case .finish:
                completeEnd()
            }
        }
    }

    /// Passes one chunk through `body_filter_by_lua*` (if any) into the pending body.
    func filterChunk(_ bytes: ByteBuffer, eof: Bool) {
        guard let source = location.settings.bodyFilter else {
            bytes.withUnsafeReadableBytes { append($0) }
            return
        }
        guard !bodyFilterEnded else { return }
        runFilter(source, phase: "body_filter", chunk: bytes, eof: eof) { [self] outcome, context in
            if case .failed = outcome { return cutResponse() }
            context.filterChunk.withUnsafeReadableBytes { append($0) }
            context.filterChunk = ByteBuffer()
            if context.filterEOF { bodyFilterEnded = true }
        }
    }

    /// Runs a filter: to its end at once (`lua_filter_yield off`, the reference's way), or in
    /// a context of its own that may wait, the steps behind it held until it ends.
    func runFilter(
        _ source: LuaSource, phase: String, chunk: ByteBuffer?, eof: Bool = false,
        _ completion: @escaping (LuaWorker.RunOutcome, LuaContext) -> Void
    ) {
        filtering = true
        guard location.settings.filterYield else {
            let context = worker.runContext(of: self, phase: phase)
            if let chunk { context.filterChunk = chunk }
            context.filterEOF = eof
            let outcome = worker.runToEnd(source, phase: phase, for: self)
            filtering = false
            completion(outcome, context)
            return
        }
        let context = filterContext ?? worker.makeFilterContext(for: self)
        filterContext = context
        filterCompletion = completion
        context.filterChunk = chunk ?? ByteBuffer()
        context.filterEOF = eof
        if !worker.startFilter(source, phase: phase, in: context) { filterRunEnded(.failed("cannot load"), context) }
    }

    /// A filter run that may have waited ended: the steps behind it go on.
    func filterRunEnded(_ outcome: LuaWorker.RunOutcome, _ context: LuaContext) {
        guard let completion = filterCompletion else { return }
        filterCompletion = nil
        filtering = false
        completion(outcome, context)
        pumpFilters()
    }
}
