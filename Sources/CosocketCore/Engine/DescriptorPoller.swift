#if os(Linux)
import CEventPoll
import Glibc
import NIOCore

/// Something the poller tells when its descriptor becomes ready.
protocol ReadinessHandler: AnyObject {
    /// `events` is epoll's mask (`EPOLLIN`, `EPOLLOUT`, `EPOLLRDHUP`, `EPOLLHUP`, `EPOLLERR`).
    func descriptorReady(_ events: UInt32)
}

/// The readiness of the engine's own descriptors (upstream connections opened without a NIO
/// channel), for one event loop.
///
/// The set is an epoll set nested, edge-triggered, in the NIO loop's own set (see
/// ``CosocketEventLoopGroup``): a ready descriptor here makes the loop's `epoll_wait` return,
/// NIO skips the event (it has no registration for this set), and after the loop's iteration
/// ``drain()`` dispatches what is ready. Descriptors are registered once for input, output and
/// peer close, edge-triggered, as nginx registers its connections: no `epoll_ctl` per
/// operation.
///
/// Work that the drained handlers give the loop (a task, a timer) was not there when the loop
/// chose how long its next wait may block, so the code that schedules it calls
/// ``noteLoopWork()``, and the drain then wakes the loop through an eventfd in the set.
///
/// Confined to its event loop.
final class DescriptorPoller: @unchecked Sendable {
    let eventLoop: EventLoop
    /// The nested set; the loop's set watches it.
    let epollDescriptor: CInt
    private let wakeDescriptor: CInt
    private var handlers: [(any ReadinessHandler)?] = []
    /// Per slot: dispatched after the upstream side of the same batch (client connections and
    /// listeners), so that replies give their connections back to the pools before new
    /// requests ask for connections.
    private var afterUpstream: [Bool] = []
    /// Bumped when a slot is freed: an event still in a drained batch for a closed descriptor
    /// carries the old generation and is dropped.
    private var generations: [UInt32] = []
    private var freeSlots: [Int] = []
    private(set) var registeredCount = 0
    private static let batchSize = 64
    /// At most this many client events per drain: under pool pressure a drain polls again
    /// before each one, and new requests keep coming, so it must end somewhere. At 256,
    /// fan-out-10's p99 at 2 workers was 158–519 ms (the reference's 132–180 ms); at 64 it is
    /// 70–74 ms, with hello and memcached-raw unchanged.
    private static let clientEventsPerDrain = 64
    private let readyTokens = UnsafeMutablePointer<UInt64>.allocate(capacity: batchSize)
    private let readyEvents = UnsafeMutablePointer<UInt32>.allocate(capacity: batchSize)
    private var isDraining = false
    /// Client events of the current drain, dispatched after the upstream ones.
    private var deferred: [(token: UInt64, events: UInt32)] = []
    private var deferredCount = 0
    private var upstreamFirstBudget = 0
    /// Work handed to the loop by this drain's handlers, run when they have returned.
    private var afterHandlers: [() -> Void] = []
    private var runningAfterHandlers: [() -> Void] = []
    private var loopWorkNoted = false
    private static let wakeToken = UInt64.max

    /// Registration of the descriptors a handler gets (edge-triggered, all directions).
    static let connectionEvents = UInt32(COSOCKET_EPOLLIN | COSOCKET_EPOLLOUT | COSOCKET_EPOLLRDHUP) | COSOCKET_EPOLLET

    /// A set for `eventLoop`, not yet nested anywhere; nil when the kernel refuses one.
    init?(eventLoop: EventLoop) {
        let epoll = cosocket_epoll_create()
        guard epoll >= 0 else { return nil }
        let wake = cosocket_eventfd_create()
        guard wake >= 0 else {
            Glibc.close(epoll)
            return nil
        }
        guard cosocket_epoll_ctl(epoll, Int32(COSOCKET_EPOLL_CTL_ADD), wake, UInt32(COSOCKET_EPOLLIN) | COSOCKET_EPOLLET, Self.wakeToken) == 0 else {
            Glibc.close(wake)
            Glibc.close(epoll)
            return nil
        }
        self.eventLoop = eventLoop
        self.epollDescriptor = epoll
        self.wakeDescriptor = wake
    }

    deinit {
        Glibc.close(wakeDescriptor)
        Glibc.close(epollDescriptor)
        readyTokens.deallocate()
        readyEvents.deallocate()
    }

    // MARK: Registration

    /// Watches `descriptor` for `handler`, which the poller keeps until ``deregister(_:)``;
    /// returns the registration's token, or the errno of a refusal.
    func register(
        _ descriptor: CInt,
        for handler: any ReadinessHandler,
        events: UInt32 = connectionEvents,
        afterUpstream: Bool = false
    ) -> Result<UInt64, CosocketError> {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = handlers.count
            handlers.append(nil)
            generations.append(0)
            self.afterUpstream.append(false)
        }
        self.afterUpstream[slot] = afterUpstream
        let token = UInt64(generations[slot]) << 32 | UInt64(slot)
        guard cosocket_epoll_ctl(epollDescriptor, Int32(COSOCKET_EPOLL_CTL_ADD), descriptor, events, token) == 0 else {
            let code = errno
            freeSlots.append(slot)
            return .failure(.system(errno: code, partial: ByteBuffer()))
        }
        handlers[slot] = handler
        registeredCount += 1
        return .success(token)
    }

    /// Forgets a registration. Closing the descriptor removes it from the set; this only frees
    /// the slot, so the caller closes the descriptor itself.
    func deregister(_ token: UInt64) {
        let slot = Int(token & 0xffff_ffff)
        guard slot < handlers.count, UInt64(generations[slot]) == token >> 32, handlers[slot] != nil else { return }
        handlers[slot] = nil
        generations[slot] &+= 1
        freeSlots.append(slot)
        registeredCount -= 1
    }

    // MARK: The loop's side

    /// Work was given to the loop (a task, a timer): if a drain is running, the loop's next
    /// wait was planned without it, so the drain wakes the loop once it ends.
    func noteLoopWork() {
        if isDraining { loopWorkNoted = true }
    }

    /// Runs `task` once the handlers of the running drain have returned, still in this turn of
    /// the loop: a task handed to NIO from a drain would cost a wake-up and another turn.
    /// `false` when no drain is running (the caller hands the task to the loop).
    func runAfterHandlers(_ task: @escaping () -> Void) -> Bool {
        guard isDraining else { return false }
        afterHandlers.append(task)
        return true
    }

    /// Tasks queued by tasks run on the loop's next turn, so that a task that keeps queueing
    /// itself (a Lua thread yielding in a loop) cannot hold the loop.
    private func runTasksAfterHandlers() {
        guard !afterHandlers.isEmpty else { return }
        swap(&afterHandlers, &runningAfterHandlers)
        for task in runningAfterHandlers { task() }
        runningAfterHandlers.removeAll(keepingCapacity: true)
        guard !afterHandlers.isEmpty else { return }
        let loop = eventLoop.assumeIsolatedUnsafeUnchecked()
        for task in afterHandlers { loop.execute(task) }
        afterHandlers.removeAll(keepingCapacity: true)
        loopWorkNoted = true
    }

    /// Gives upstream readiness precedence over new client work for the next `count` client
    /// events (see ``drain()``); the pools ask for it when they had to evict.
    func preferUpstream(forClientEvents count: Int) {
        upstreamFirstBudget = count
    }

    /// Dispatches everything ready, until the set is empty. Called after each iteration of the
    /// loop; a set with no descriptors costs no system call.
    ///
    /// Within a batch, upstream connections come before client connections and listeners:
    /// replies give their connections back to the pools before new requests ask for
    /// connections. Under pool pressure (``preferUpstream(forClientEvents:)``) the set is
    /// polled again before each client event, so that replies which arrived meanwhile come
    /// first too; otherwise a burst of requests finds the pool empty while the replies that
    /// would refill it wait, each opens a new connection, and the pool evicts one when the
    /// other comes back.
    func drain() {
        guard registeredCount > 0 || deferredCount > 0, !isDraining else { return }
        isDraining = true
        var polled = poll()
        var clientEvents = 0
        while polled > 0 || deferredCount > 0 {
            var next = 0
            while next < deferredCount, clientEvents < Self.clientEventsPerDrain {
                if upstreamFirstBudget > 0 {
                    upstreamFirstBudget -= 1
                    polled = poll()
                }
                let (token, events) = deferred[next]
                next += 1
                clientEvents += 1
                dispatch(token, events)
            }
            if next < deferredCount {
                // Enough for one turn: the loop's timers and tasks run before the rest, which
                // the next drain takes first (the wake-up makes sure there is one soon).
                deferred.removeSubrange(0..<next)
                deferredCount -= next
                loopWorkNoted = true
                break
            }
            deferredCount = 0
            if polled < Self.batchSize { polled = 0 } else { polled = poll() }
        }
        runTasksAfterHandlers()
        isDraining = false
        if loopWorkNoted {
            loopWorkNoted = false
            _ = cosocket_eventfd_signal(wakeDescriptor)
        }
    }

    /// Reads one batch from the set: dispatches its upstream events and queues the others.
    private func poll() -> Int {
        let count = Int(cosocket_epoll_poll(epollDescriptor, readyTokens, readyEvents, Int32(Self.batchSize)))
        guard count > 0 else { return 0 }
        for index in 0..<count {
            let token = readyTokens[index]
            if token == Self.wakeToken { continue }
            let slot = Int(token & 0xffff_ffff)
            guard slot < handlers.count else { continue }
            if afterUpstream[slot] {
                if deferredCount == deferred.count {
                    deferred.append((token, readyEvents[index]))
                } else {
                    deferred[deferredCount] = (token, readyEvents[index])
                }
                deferredCount += 1
            } else {
                dispatch(token, readyEvents[index])
            }
        }
        return count
    }

    private func dispatch(_ token: UInt64, _ events: UInt32) {
        let slot = Int(token & 0xffff_ffff)
        guard slot < handlers.count, UInt64(generations[slot]) == token >> 32, let handler = handlers[slot] else { return }
        handler.descriptorReady(events)
    }

    /// The poller of the calling thread's loop, if it has one.
    static var current: DescriptorPoller? {
        guard let pointer = cosocket_thread_poller() else { return nil }
        return Unmanaged<DescriptorPoller>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Makes this the poller the tick hook drains on the calling thread (the loop's).
    func becomeCurrent() {
        cosocket_set_thread_poller(Unmanaged.passUnretained(self).toOpaque())
    }
}
#endif
