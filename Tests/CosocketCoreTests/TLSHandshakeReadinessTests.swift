#if os(Linux)
import CEventPoll
import Testing

@testable import CosocketCore

/// Which readiness events move a server or client handshake on: a step for an edge it does
/// not wait for would only meet WANT_READ again (the writable edge after the server's flight
/// woke every handshake once).
@Suite struct TLSHandshakeReadinessTests {
    let readable = UInt32(COSOCKET_EPOLLIN)
    let writable = UInt32(COSOCKET_EPOLLOUT)
    let hangUp = UInt32(COSOCKET_EPOLLRDHUP)
    let failed = UInt32(COSOCKET_EPOLLERR | COSOCKET_EPOLLHUP)

    @Test func waitingForBytesIgnoresAWritableEdgeAlone() {
        #expect(StreamConnection.handshakeIgnores(writable, waitingForWritable: false, hook: false))
        #expect(!StreamConnection.handshakeIgnores(readable | writable, waitingForWritable: false, hook: false))
        #expect(!StreamConnection.handshakeIgnores(hangUp, waitingForWritable: false, hook: false))
        #expect(!StreamConnection.handshakeIgnores(UInt32(COSOCKET_EPOLLERR), waitingForWritable: false, hook: false))
    }

    @Test func waitingToWriteIgnoresAReadableEdgeAlone() {
        #expect(StreamConnection.handshakeIgnores(readable, waitingForWritable: true, hook: false))
        #expect(!StreamConnection.handshakeIgnores(writable, waitingForWritable: true, hook: false))
        #expect(!StreamConnection.handshakeIgnores(failed, waitingForWritable: true, hook: false))
    }

    @Test func aHandshakePausedForAHookSeesEveryEvent() {
        #expect(!StreamConnection.handshakeIgnores(writable, waitingForWritable: false, hook: true))
        #expect(!StreamConnection.handshakeIgnores(readable, waitingForWritable: true, hook: true))
    }
}
#endif
