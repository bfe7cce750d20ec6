import NIOCore

/// The three per-socket timeouts of `settimeout`/`settimeouts`.
///
/// `nil` means "use the worker's configured default", which is also what the reference does
/// for a value of 0.
public struct SocketTimeouts: Sendable, Equatable {
    public var connect: TimeAmount?
    public var send: TimeAmount?
    public var read: TimeAmount?

    public init(connect: TimeAmount? = nil, send: TimeAmount? = nil, read: TimeAmount? = nil) {
        self.connect = connect
        self.send = send
        self.read = read
    }

    /// The same timeout for all three, as `settimeout(ms)` sets it.
    public static func all(_ timeout: TimeAmount?) -> SocketTimeouts {
        SocketTimeouts(connect: timeout, send: timeout, read: timeout)
    }

    /// Reads a millisecond count the way the reference does: 0 keeps the configured default.
    public static func milliseconds(_ value: Int64) -> TimeAmount? {
        value > 0 ? .milliseconds(value) : nil
    }
}
