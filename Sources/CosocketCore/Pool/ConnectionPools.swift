import NIOCore

/// What a connect should do, as the pool decides.
enum PoolCheckout {
    case reuse(StreamConnection)
    case connect
    case wait
    case fail(CosocketError)
}

/// The I/O shell around the pool state machine: executes its actions on real connections.
public final class ConnectionPools: @unchecked Sendable {
    let eventLoop: EventLoop
    let defaultPoolSize: Int

    init(eventLoop: EventLoop, defaultPoolSize: Int) {
        self.eventLoop = eventLoop
        self.defaultPoolSize = defaultPoolSize
    }

    func checkout(key: String, options: PoolOptions, for socket: StreamSocket) -> PoolCheckout { .connect }
    func connected(_ connection: StreamConnection) {}
    func connectFailed(key: String) {}
    func closed(_ connection: StreamConnection) {}
    func release(_ connection: StreamConnection, idleTimeout: TimeAmount, poolSize: Int?) { connection.close() }
    func waiterTimedOut(_ socket: StreamSocket, key: String) {}
    func cancelWaiter(_ socket: StreamSocket, key: String) {}
}
