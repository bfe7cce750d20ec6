/// Receives the results of operations that could not finish at once.
///
/// An operation either returns its result directly (the fast path: data already buffered, a
/// write the kernel took whole) or returns `nil` and later calls exactly one of these on the
/// socket's event loop. Front-ends (Swift continuations, Lua coroutines) implement it, so the
/// engine parks no closure and allocates nothing to wait.
public protocol StreamSocketDelegate: AnyObject {
    func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>)
    func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome)
    func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>)
    /// A TLS handshake (``StreamSocket/tlsHandshake(_:)``) that could not finish at once ended.
    func socketDidHandshake(_ socket: StreamSocket, result: Result<TLSSession, CosocketError>)
}

extension StreamSocketDelegate {
    public func socketDidHandshake(_ socket: StreamSocket, result: Result<TLSSession, CosocketError>) {}
}
