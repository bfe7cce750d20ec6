import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if os(Linux)
import CEventPoll
import Glibc
#endif

/// Event loops on which engines open upstream connections without NIO channels.
///
/// Each loop gets a ``DescriptorPoller``: an epoll set of the engine's own, nested in the
/// loop's set, and drained after every iteration of the loop by a tick hook. Engines created
/// on these loops use the descriptor transport; on any other loop they use NIO channels.
///
/// This rests on three things NIO does today without promising them: its loop waits in an
/// epoll set found through `/proc/self/fdinfo`; it skips an event from a descriptor it has
/// not registered; and it calls the `NIOEventLoopMetricsDelegate` after every iteration. If
/// the set cannot be found, the loop simply keeps the channel transport; `CosocketCoreTests`
/// (`DescriptorPollerTests`) fail if any of the three changes.
public final class CosocketEventLoopGroup: @unchecked Sendable {
    /// The loops, for bootstraps and engines.
    public let group: MultiThreadedEventLoopGroup
    private let installed: [ObjectIdentifier]
    /// Readiness sets were asked for but some loop could not get one (the discovery through
    /// `/proc/self/fdinfo` failed, or this is not Linux): those loops use NIO channels. A host
    /// says so once at start (``HTTPServer`` logs a warning).
    public let readinessSetsUnavailable: Bool

    /// Starts `numberOfThreads` loops and gives each its readiness set (unless
    /// `readinessSets` is false: engines on them then use NIO channels).
    public init(numberOfThreads: Int, readinessSets: Bool = true) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: numberOfThreads, metricsDelegate: TickHook())
        var installed: [ObjectIdentifier] = []
        #if os(Linux)
        for loop in group.makeIterator() where readinessSets && Self.installPoller(on: loop) {
            installed.append(ObjectIdentifier(loop))
        }
        #endif
        self.installed = installed
        readinessSetsUnavailable = readinessSets && installed.count < numberOfThreads
    }

    /// Whether engines on `eventLoop` use the descriptor transport.
    public func hasReadinessSet(_ eventLoop: EventLoop) -> Bool {
        installed.contains(ObjectIdentifier(eventLoop))
    }

    /// Stops the loops and releases their readiness sets.
    public func syncShutdownGracefully() throws {
        defer {
            Self.pollers.withLockedValue { pollers in
                for loop in installed { pollers[loop] = nil }
            }
        }
        try group.syncShutdownGracefully()
    }

    /// Runs `task` after the handlers of the calling thread's running drain, if that thread is
    /// `eventLoop`'s and a drain is running; `false` otherwise (nothing done).
    public static func runAfterHandlers(on eventLoop: EventLoop, _ task: @escaping () -> Void) -> Bool {
        #if os(Linux)
        guard let poller = DescriptorPoller.current, poller.eventLoop === eventLoop else { return false }
        return poller.runAfterHandlers(task)
        #else
        return false
        #endif
    }

    // MARK: Pollers

    #if os(Linux)
    private static let pollers = NIOLockedValueBox<[ObjectIdentifier: DescriptorPoller]>([:])

    /// The readiness set of `eventLoop`, if it is one of these groups' loops.
    static func poller(for eventLoop: EventLoop) -> DescriptorPoller? {
        pollers.withLockedValue { $0[ObjectIdentifier(eventLoop)] }
    }

    /// Nests a new set in the loop's: finds the loop's epoll set through a probe pipe that only
    /// this loop watches, then adds ours to it on the loop (whose thread the hook drains for).
    private static func installPoller(on loop: EventLoop) -> Bool {
        var ends: [CInt] = [-1, -1]
        guard pipe(&ends) == 0 else { return false }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[1]) }
        guard let probe = try? NIOPipeBootstrap(group: loop).takingOwnershipOfDescriptor(input: ends[0]).wait() else {
            close(ends[0])
            return false
        }
        let loopEpoll = LoopEpollDiscovery.epollWatching(ends[0])
        try? probe.close().wait()
        guard let loopEpoll else { return false }
        let installed = try? loop.submit { () -> Bool in
            guard let poller = DescriptorPoller(eventLoop: loop) else { return false }
            // NIO reads an event's data as (registration id << 32 | descriptor): id 0 and a
            // descriptor it never registered, so it skips the event.
            let token = UInt64(UInt32(bitPattern: poller.epollDescriptor))
            guard cosocket_epoll_ctl(loopEpoll, Int32(COSOCKET_EPOLL_CTL_ADD), poller.epollDescriptor, UInt32(COSOCKET_EPOLLIN) | COSOCKET_EPOLLET, token) == 0 else {
                return false
            }
            poller.becomeCurrent()
            pollers.withLockedValue { $0[ObjectIdentifier(loop)] = poller }
            return true
        }.wait()
        return installed ?? false
    }
    #else
    private static let pollers = NIOLockedValueBox<[ObjectIdentifier: Never]>([:])
    #endif
}

/// Runs on each loop after every iteration: the drain of that loop's readiness set.
private struct TickHook: NIOEventLoopMetricsDelegate {
    func processedTick(info: NIOEventLoopTickInfo) {
        #if os(Linux)
        DescriptorPoller.current?.drain()
        #endif
    }
}
