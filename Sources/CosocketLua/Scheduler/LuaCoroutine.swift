import CLuaJIT
import CosocketCore
import NIOCore

/// A coroutine the scheduler drives: an entry thread, a light thread, or a timer's thread.
/// (Coroutines that user code creates with `coroutine.create` are plain Lua coroutines nested
/// inside one of these.)
final class LuaCoroutine {
    /// Why a suspended coroutine waits, so that killing it can cancel the wait.
    enum Wait {
        case socket(LuaSocket)
        case datagram(LuaUDPSocket)
        case sleep(Scheduled<Void>?)
        case threads
        case nextTick
        /// `ngx.flush(true)`: until the response bytes are written out.
        case flush
        /// `ngx.req.read_body()`: until the request body has arrived.
        case requestBody
        /// `ngx.exit`: the context ends once the coroutine has yielded.
        case exit
        /// `sema:wait(timeout)`: until a post reaches it, or the timer fires.
        case semaphore(LuaSemaphore)
        /// `ngx.location.capture*`: until every subrequest has finished (they run on; their
        /// results are dropped if the coroutine is gone by then).
        case subrequests
    }

    /// The value a resumed coroutine receives from the operation it waited on.
    enum Resumption {
        case nothing
        case connect(Result<Void, CosocketError>)
        case read(ReadOutcome, untilIteration: Bool)
        case send(Result<Int, CosocketError>)
        /// A datagram socket's `receive`.
        case datagram(Result<ByteBuffer, CosocketError>)
        case threadResult(LuaCoroutine)
        /// `ngx.flush(true)` returns 1.
        case flushed
        /// Values pushed when the coroutine resumes (the operation finishes then).
        case push((LuaState) -> Int32)
        /// A parked `sema:wait` returns `true, nil` or `false, "timeout"`.
        case semaphore(acquired: Bool)
    }

    let thread: LuaState
    let reference: Int32
    /// Strong: a running coroutine keeps its context alive; `endContext` breaks the cycle.
    /// A finished entry coroutine kept for reuse points at its worker's placeholder instead.
    var context: LuaContext
    let isEntry: Bool
    /// This run's number in its worker (``LuaWorker/newCoroutine(in:isEntry:parent:)``).
    var serial: UInt64 = 0
    /// The ``serial`` of the coroutine that spawned this light thread (only it may wait for
    /// or kill it): a number, not a weak reference, because a weak reference gives its target
    /// a side table, and every retain and release of that coroutine then takes the slow path
    /// (a semaphore hand-off retains both coroutines several times).
    var parentSerial: UInt64 = 0
    /// Set once it spawned a light thread: weak references to it may then outlive its run,
    /// so it is never reused for another run (see ``LuaWorker``'s spare entry coroutines).
    var hasSpawned = false

    var wait: Wait?
    /// Woken and waiting in the ready queue for its turn.
    var isQueued = false
    var resumption: Resumption = .nothing
    var isDead = false
    /// Set when this coroutine waits in `ngx.thread.wait` for one of `awaited`.
    var awaited: [LuaCoroutine] = []
    /// The coroutine blocked in `ngx.thread.wait` on this one. Strong (a weak one gave the
    /// waiter a side table, see ``parentSerial``): the wait ends by clearing it on every
    /// awaited coroutine, when one of them finishes or the wait is cancelled.
    var waiter: LuaCoroutine?
    /// `true, values...` or `false, error` once dead, until a wait collects it.
    var resultsReference: Int32 = LUA_NOREF
    var resultsCollected = false
    /// Where the worker lists this entry thread while it runs (-1: not listed).
    var liveEntrySlot = -1

    init(thread: LuaState, reference: Int32, context: LuaContext, isEntry: Bool) {
        self.thread = thread
        self.reference = reference
        self.context = context
        self.isEntry = isEntry
    }

    /// Readies an entry coroutine whose function returned (its thread's stack already
    /// emptied) for another run in `context`. Such a coroutine waits for nothing, is not
    /// queued (``LuaWorker`` keeps only those), is listed nowhere and never spawned a light
    /// thread (so it awaited none and keeps no results). A resumption it was queued with before
    /// it died may still be held.
    func reuse(in context: LuaContext) {
        assert(wait == nil && !isQueued && awaited.isEmpty && liveEntrySlot == -1 && !hasSpawned)
        self.context = context
        resumption = .nothing
        isDead = false
    }
}
