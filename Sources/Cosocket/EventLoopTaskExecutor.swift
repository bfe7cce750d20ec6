import CosocketCore
import NIOCore

/// Runs Swift tasks on a NIO event loop, so code awaiting a ``TCPSocket`` of that loop takes
/// the socket's fast path: no thread hop per operation.
///
/// ```swift
/// try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) { ... }
/// ```
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    public let eventLoop: EventLoop

    public init(_ eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // A socket operation that completed in a readiness drain resumes its task from there:
        // the job runs when the drain's handlers have returned.
        if eventLoop.inEventLoop,
            CosocketEventLoopGroup.runAfterHandlers(on: eventLoop, { job.runSynchronously(on: self.asUnownedTaskExecutor()) })
        {
            return
        }
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
