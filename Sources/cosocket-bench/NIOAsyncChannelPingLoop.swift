import Cosocket
import NIOCore
import NIOPosix

/// The same loop written against plain SwiftNIO: a `ClientBootstrap` channel wrapped in an
/// `NIOAsyncChannel`, one write and reads until the whole reply is in. Run once from the global
/// executor (what plain NIO code does: NIO ships no event-loop task executor) and once on the
/// channel's loop through our `EventLoopTaskExecutor`, which separates the cost of thread hops
/// from the cost of the async channel's stream bridging.
enum NIOAsyncChannelPingLoop {
    static func run(port: Int, roundTrips: Int, on loop: EventLoop, taskExecutor: EventLoopTaskExecutor?) async throws -> PingLoopResult {
        let implementation = taskExecutor == nil ? "NIOAsyncChannel (global executor)" : "NIOAsyncChannel (EventLoopTaskExecutor)"
        return try await withTaskExecutorPreference(taskExecutor) {
            let channel = try await ClientBootstrap(group: loop).connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
            return try await channel.executeThenClose { inbound, outbound in
                var replies = inbound.makeAsyncIterator()
                for _ in 0..<RedisPing.warmUpRoundTrips { try await roundTrip(outbound, &replies) }
                return try await PingLoopResult.measure(implementation, roundTrips: roundTrips) {
                    try await roundTrip(outbound, &replies)
                }
            }
        }
    }

    private static func roundTrip(
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        _ replies: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    ) async throws {
        try await outbound.write(RedisPing.request)
        // The reply may arrive in pieces; redis sends nothing else while we wait, so no leftovers.
        var reply = ByteBuffer()
        while reply.readableBytes < RedisPing.reply.count {
            guard var chunk = try await replies.next() else { throw BenchmarkFailure("redis closed the connection") }
            reply.writeBuffer(&chunk)
        }
        guard reply.readableBytesView.elementsEqual(RedisPing.reply) else {
            throw BenchmarkFailure("unexpected reply: \(String(buffer: reply))")
        }
    }
}
