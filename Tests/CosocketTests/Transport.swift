import Cosocket
import CosocketCore
import NIOCore
import NIOPosix
import Testing

/// The two ways an engine carries an upstream connection; the Swift API's tests run over both.
enum Transport: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// A NIO channel: any event loop.
    case channel
    /// A descriptor of the engine's own: a ``CosocketEventLoopGroup`` loop.
    case descriptor

    var testDescription: String { rawValue }

    private static let descriptorLoops = CosocketEventLoopGroup(numberOfThreads: 1)

    /// A loop shared by the tests of this transport.
    var sharedLoop: EventLoop {
        switch self {
        case .channel: return MultiThreadedEventLoopGroup.singleton.any()
        case .descriptor: return Self.descriptorLoops.group.next()
        }
    }

    /// A loop of its own (pools are per loop), kept for the life of the process.
    func isolatedLoop() -> EventLoop {
        switch self {
        case .channel: return MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
        case .descriptor: return CosocketEventLoopGroup(numberOfThreads: 1).group.next()
        }
    }

    func makeSocket() -> TCPSocket {
        TCPSocket(eventLoop: sharedLoop)
    }
}
