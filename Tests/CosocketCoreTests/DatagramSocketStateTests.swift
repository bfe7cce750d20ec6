import Testing

@testable import CosocketCore

@Suite struct DatagramSocketStateTests {
    @Test func idleSocketAnswersClosed() {
        var state = DatagramSocketState()
        #expect(state.sendDecision() == .closed)
        #expect(state.receiveDecision() == .closed)
        #expect(state.close() == .closed)
        #expect(!state.isWaiting)
    }

    @Test func waitingReceiveMakesEverythingElseBusy() {
        var state = DatagramSocketState()
        #expect(state.beginSetPeer() == .proceed(closingCurrent: false))
        state.opened()
        #expect(state.sendDecision() == .proceed)
        state.waitForDatagram(size: 10)
        #expect(state.isWaiting && state.waitingReceiveSize == 10)
        #expect(state.sendDecision() == .busy)
        #expect(state.receiveDecision() == .busy)
        #expect(state.close() == .busy)
        #expect(state.beginSetPeer() == .busy)
        state.receiveEnded()
        #expect(state.close() == .proceed)
        #expect(state.phase == .idle)
    }

    @Test func resolvingIsBusyAndFailureGoesBackToClosed() {
        var state = DatagramSocketState()
        _ = state.beginSetPeer()
        state.resolving()
        #expect(state.isWaiting)
        #expect(state.sendDecision() == .busy)
        #expect(state.close() == .busy)
        #expect(state.beginSetPeer() == .busy)
        state.openFailed()
        #expect(state.sendDecision() == .closed)
    }

    @Test func newPeerClosesTheCurrentOne() {
        var state = DatagramSocketState()
        _ = state.beginSetPeer()
        state.opened()
        #expect(state.beginSetPeer() == .proceed(closingCurrent: true))
        #expect(state.phase == .idle)
    }

    @Test func abortEndsAWait() {
        var state = DatagramSocketState()
        _ = state.beginSetPeer()
        state.opened()
        state.waitForDatagram(size: 1)
        state.abort()
        #expect(!state.isWaiting && state.phase == .idle)
    }

    @Test(arguments: [
        (nil, 65536), (0, 0), (1, 1), (2.7, 2), (65535, 65535), (65536, 65536), (1e9, 65536), (-1, 65536),
        (Double.nan, 65536), (Double.infinity, 65536), (-Double.infinity, 65536),
    ] as [(Double?, Int)])
    func receiveSizeClampsAsTheReference(_ requested: Double?, _ size: Int) {
        #expect(DatagramSocketState.receiveSize(requested) == size)
    }
}

@Suite struct DatagramPeerTests {
    @Test(arguments: [
        ("127.0.0.1", 53, ConnectTarget.host("127.0.0.1", port: 53)),
        ("127.0.0.1:99", 53, .host("127.0.0.1", port: 99)),
        ("example.org", 0, .host("example.org", port: 0)),
        ("[::1]", 5353, .host("::1", port: 5353)),
        ("[::1]:53", 1, .host("::1", port: 53)),
        ("unix:/tmp/x.sock", 80, .unix(path: "/tmp/x.sock")),
    ])
    func parsesNginxURLForms(_ host: String, _ port: Int, _ target: ConnectTarget) throws {
        #expect(try DatagramPeer.parse(host, port: port).get() == target)
    }

    @Test(arguments: [
        ("", "no host"), (":53", "no host"), ("127.0.0.1:abc", "invalid port"), ("127.0.0.1:", "invalid port"),
        ("127.0.0.1:0", "invalid port"), ("127.0.0.1:70000", "invalid port"), ("127.0.0.1:123456", "invalid port"),
        ("::1", "invalid port"), ("[::1", "invalid host"), ("[::1]x", "invalid host"),
        ("unix:", "no path in the unix domain socket"),
    ])
    func refusesWhatNginxRefuses(_ host: String, _ reason: String) {
        guard case .failure(let error) = DatagramPeer.parse(host, port: 1) else {
            Issue.record("\(host) parsed")
            return
        }
        #expect(error.message == "failed to parse host name \"\(host)\": \(reason)")
    }
}
