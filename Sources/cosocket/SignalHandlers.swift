import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// The server's signal handlers, on a queue of their own.
///
/// They are installed before the server listens and held until it has started: a signal sent
/// as soon as the port answers (by a supervisor, a test) is handled once the server is up, not
/// lost between the moment the signal is ignored and its source's first run.
final class SignalHandlers {
    private let queue: DispatchQueue
    private var sources: [DispatchSourceSignal] = []
    private var isActive = false

    init(label: String) {
        queue = DispatchQueue(label: label)
        queue.suspend()
    }

    func on(_ number: Int32, _ action: @escaping () -> Void) {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        sources.append(source)
    }

    /// Lets the handlers run, starting with any signal that arrived meanwhile.
    func activate() {
        guard !isActive else { return }
        isActive = true
        queue.resume()
    }

    func cancel() {
        for source in sources { source.cancel() }
        // A suspended queue must not be released.
        activate()
    }
}
