import Synchronization

/// nginx's connection counter: every client connection, and every fake connection a timer
/// run or `init_worker_by_lua*` gets, takes the next number, shown as `*N` in the error log
/// lines about it. One counter for the process, as nginx shares one across its workers.
public enum ConnectionNumbers {
    private static let counter = Atomic<Int>(0)

    public static func next() -> Int {
        counter.add(1, ordering: .relaxed).newValue
    }
}
