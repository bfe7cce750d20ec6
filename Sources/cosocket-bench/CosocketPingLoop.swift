import Cosocket
import NIOCore

/// Our Swift API as the README recommends it: the task runs on the socket's event loop
/// (`EventLoopTaskExecutor`), so a send or receive takes no thread hop, and the connection comes
/// from the keepalive pool, as it would for a request handler.
enum CosocketPingLoop {
    static func run(port: Int, roundTrips: Int, on loop: EventLoop) async throws -> PingLoopResult {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            // Park one warmed-up connection in the pool for the measured socket to take.
            let warmUp = TCPSocket(eventLoop: loop)
            try await warmUp.connect(host: "127.0.0.1", port: port)
            for _ in 0..<RedisPing.warmUpRoundTrips { try await roundTrip(warmUp) }
            try await warmUp.setKeepalive()

            let socket = TCPSocket(eventLoop: loop)
            try await socket.connect(host: "127.0.0.1", port: port)
            guard try await socket.reusedTimes() > 0 else { throw BenchmarkFailure("the connection did not come from the pool") }
            // If the preference did not hold, every call below would hop threads and the figure would lie.
            guard loop.inEventLoop else { throw BenchmarkFailure("the task is not running on the socket's event loop") }
            let result = try await PingLoopResult.measure("cosocket TCPSocket (EventLoopTaskExecutor)", roundTrips: roundTrips) {
                try await roundTrip(socket)
            }
            try await socket.setKeepalive()
            return result
        }
    }

    private static func roundTrip(_ socket: TCPSocket) async throws {
        try await socket.send(RedisPing.request)
        let line = try await socket.receive(.line)
        guard line.readableBytesView.elementsEqual(RedisPing.replyLine) else {
            throw BenchmarkFailure("unexpected reply: \(String(buffer: line))")
        }
    }
}
