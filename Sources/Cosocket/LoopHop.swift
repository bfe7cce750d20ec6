import NIOCore

/// How the Swift sockets reach their engine socket, which is confined to its event loop: inline
/// when the caller already runs there, else with one hop; an operation suspends only when the
/// engine parks it (its result then comes through the socket's delegate, which resumes the
/// continuation that `park` stored).
enum LoopHop {
    /// Runs `body` on `eventLoop` with `object`.
    static func run<Object: Sendable, T: Sendable>(
        on eventLoop: EventLoop, _ object: Object, _ body: @escaping @Sendable (Object) -> T
    ) async -> T {
        if eventLoop.inEventLoop { return body(object) }
        return await withUnsafeContinuation { continuation in
            eventLoop.execute { continuation.resume(returning: body(object)) }
        }
    }

    /// Starts an operation on the loop: `immediate` returns its result, or `nil` after parking
    /// it in the engine, in which case `park` stores the continuation for the delegate.
    static func start<Object: Sendable, T: Sendable>(
        on eventLoop: EventLoop,
        _ object: Object,
        immediate: @escaping @Sendable (Object) -> T?,
        park: @escaping @Sendable (UnsafeContinuation<T, Never>) -> Void
    ) async -> T {
        if eventLoop.inEventLoop, let result = immediate(object) { return result }
        let onLoop = eventLoop.inEventLoop
        return await withUnsafeContinuation { continuation in
            if onLoop {
                // `immediate` already ran above and parked the operation.
                park(continuation)
                return
            }
            eventLoop.execute {
                if let result = immediate(object) { continuation.resume(returning: result) } else { park(continuation) }
            }
        }
    }
}
