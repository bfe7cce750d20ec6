import CosocketCore
import CosocketLua
import NIOCore

/// The request body: waiting for it (`ngx.req.read_body`), lending the connection to a
/// request socket (`ngx.req.socket`), and what Lua code reads and rewrites once it is here, in
/// memory up to `client_body_buffer_size`, else in a file, as nginx keeps it.
extension RequestContext {
    func sendContinueIfExpected() {
        guard bodyPending, !continueSent, !headersSent, head.version == .http1_1,
            head.header(named: "expect")?.lowercased() == "100-continue"
        else { return }
        continueSent = true
        var out = ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")
        connection?.send(&out, whenWritten: nil)
    }

    func readBody(whenRead: @escaping () -> Void) -> Bool {
        let first = !bodyRequested
        bodyRequested = true
        guard bodyPending, !socketTaken else {
            if first { spillBodyIfLarge() }
            return true
        }
        sendContinueIfExpected()
        bodyWaiters.append(whenRead)
        return false
    }

    /// The connection collected the whole body.
    func bodyArrived(_ body: ByteBuffer?) {
        self.body = body
        if bodyRequested { spillBodyIfLarge() }
        bodyFailed()
    }

    /// The body is over, whole or not (the connection is gone): `read_body` returns.
    func bodyFailed() {
        bodyPending = false
        let waiters = bodyWaiters
        bodyWaiters.removeAll()
        for waiter in waiters { waiter() }
    }

    func waitForBody(whenRead: @escaping () -> Void) -> Bool {
        guard bodyPending, !socketTaken else { return true }
        sendContinueIfExpected()
        bodyWaiters.append(whenRead)
        return false
    }

    func requestBodyStream(probing: Bool) -> Result<(stream: AcceptedStream, length: Int), RequestSocketRefusal> {
        if socketTaken || bodyRequested { return .failure(.bodyExists) }
        // A discarded body that had arrived is gone (nginx then sees no body at all).
        if bodyDiscarded { return .failure(bodyPending ? .bodyDiscarded : .noBody) }
        let length: Int
        if bodyPending {
            // A chunked body is de-chunked as a whole before a socket reads it (see
            // `waitForBody`).
            guard let declared = head.contentLength else { return .failure(.chunked) }
            length = declared
        } else {
            length = body?.readableBytes ?? 0
        }
        guard length > 0 else { return .failure(.noBody) }
        if probing { return .failure(.noBody) }
        sendContinueIfExpected()
        guard let stream = connection?.lendBody(prefix: body) else { return .failure(.unsupported) }
        body = nil
        bodyPending = false
        socketTaken = true
        return .success((stream, length))
    }


    var requestBodyFile: String? { bodyFile?.path }

    /// A body that was read and is larger than the buffer goes to a temporary file, where
    /// `ngx.req.get_body_file` finds it (and `get_body_data` does not).
    func spillBodyIfLarge() {
        guard let body, body.readableBytes > location.settings.clientBodyBufferSize else { return }
        guard case .success(let file) = RequestBodyFile.create(in: location.settings.clientBodyTempPath) else {
            // nginx would fail the request; keeping the body in memory serves it instead.
            logError("cannot create a temporary file in \"\(location.settings.clientBodyTempPath)\" for the request body")
            return
        }
        let problem = body.withUnsafeReadableBytes { file.append($0) }
        file.finishWriting()
        guard problem == nil else { return }
        self.body = nil
        bodyFile = file
    }

    func editBody(_ edit: RequestBodyEdit) -> String? {
        switch edit {
        case .replace(let bytes):
            guard bodyRequested else { return "request body not read yet" }
            var replacement = ByteBuffer()
            replacement.writeBytes(bytes)
            replaceBody(memory: replacement, file: nil)
        case .begin(let bufferSize):
            guard bodyRequested else { return "request body not read yet" }
            // A size of 0 puts this request's bodies in files from now on, as nginx's
            // `request_body_in_file_only` flag, which init_body(0) sets, does.
            if bufferSize == 0 { bodyInFileOnly = true }
            bodyBuilder = RequestBodyBuilder(
                bufferSize: bodyInFileOnly ? 0 : bufferSize ?? location.settings.clientBodyBufferSize,
                directory: location.settings.clientBodyTempPath
            )
        case .append(let bytes):
            guard bodyBuilder != nil else { return "request_body not initialized" }
            return bodyBuilder?.append(bytes)
        case .finish:
            guard let builder = bodyBuilder else {
                // Finishing twice is harmless, as in the reference; before any init it is not.
                return bodyFinished ? nil : "request_body not initialized"
            }
            bodyBuilder = nil
            bodyFinished = true
            builder.file?.finishWriting()
            replaceBody(memory: builder.file == nil ? builder.memory : nil, file: builder.file)
        case .file(let path, let autoClean):
            guard bodyRequested else { return "request body not read yet" }
            let file = RequestBodyFile(path: path, removesFile: autoClean)
            if let problem = file.measure() { return problem }
            replaceBody(memory: nil, file: file)
        }
        return nil
    }

    /// The new body, and the `Content-Length` header that says its size.
    private func replaceBody(memory: ByteBuffer?, file: RequestBodyFile?) {
        body = memory
        bodyFile = file
        let size = memory?.readableBytes ?? file?.size ?? 0
        setHeaderField("Content-Length", [String(size)])
    }
}
