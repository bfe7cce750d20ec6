import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// The server's signal handlers, on a queue of their own.
///
/// They are installed before the server listens: a signal sent as soon as the port answers
/// (by a supervisor, a test) is acted on once the server has started, not lost between the
/// moment the signal is ignored and its source's first run. While the server starts, a stop
/// signal waits for the start to finish, and a second one ends the process at once, so that
/// an init phase that never returns can still be interrupted.
final class SignalHandlers: @unchecked Sendable {
    private let queue: DispatchQueue
    private var sources: [DispatchSourceSignal] = []
    // Confined to `queue` (hence `@unchecked Sendable`).
    private var isActive = false
    private var deferred: [() -> Void] = []
    private var stopPending = false

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `action` on `number`; `stops` marks the signals that stop the server (see above).
    func on(_ number: Int32, stops: Bool = false, _ action: @escaping () -> Void) {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler { [unowned self] in
            if isActive {
                action()
            } else if stops && stopPending {
                // At once, with the status a shell reports for a process the signal ended.
                _exit(128 + number)
            } else {
                stopPending = stopPending || stops
                deferred.append(action)
            }
        }
        source.resume()
        sources.append(source)
    }

    /// The server has started: runs what arrived meanwhile, then each signal as it comes.
    func activate() {
        queue.async { [self] in
            isActive = true
            for action in deferred { action() }
            deferred = []
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
