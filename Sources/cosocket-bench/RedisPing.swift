import NIOCore

/// The request and reply of one round trip, built once: a careful caller does not rebuild them
/// per call, and the C baseline sends from a static array.
enum RedisPing {
    static let request = ByteBuffer(string: "PING\r\n")
    static let reply = Array("+PONG\r\n".utf8)
    static let replyLine = Array("+PONG".utf8)
    /// Untimed round trips on the connection before the measured ones (as in ping-blocking.c).
    static let warmUpRoundTrips = 1000
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
