import Cosocket
import CosocketCore
import NIOCore
import NIOPosix

/// Swift API benchmark: sequential redis `PING` round trips over one connection, through our
/// `TCPSocket` and through plain SwiftNIO's `NIOAsyncChannel`. Prints one JSON line per variant
/// (the format of bench/ping-blocking.c, the blocking C baseline); `bench/compare` runs all three.
///
///     cosocket-bench PORT COUNT
@main
enum CosocketBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let port = Int(arguments[1]), let roundTrips = Int(arguments[2]) else {
            throw BenchmarkFailure("usage: cosocket-bench PORT COUNT")
        }
        // A loop with the engine's readiness set, where TCPSocket uses descriptors of its own
        // (the NIO channel variants run on the same loop).
        let group = CosocketEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.group.next()
        let results = [
            try await CosocketPingLoop.run(port: port, roundTrips: roundTrips, on: loop),
            try await NIOAsyncChannelPingLoop.run(port: port, roundTrips: roundTrips, on: loop, taskExecutor: nil),
            try await NIOAsyncChannelPingLoop.run(
                port: port, roundTrips: roundTrips, on: loop, taskExecutor: EventLoopTaskExecutor(loop)),
        ]
        for result in results { print(result.jsonLine) }
    }
}
