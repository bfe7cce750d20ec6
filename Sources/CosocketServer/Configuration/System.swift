import NIOCore

enum System {
    /// `worker_processes auto`: one worker per core.
    static var coreCount: Int { NIOCore.System.coreCount }
}
