import NIOCore
import Testing

@testable import CosocketCore

@Suite struct StreamSocketStateMachineTests {
    typealias Machine = StreamSocketStateMachine

    static func at(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

    static func connected() -> Machine {
        var machine = Machine()
        machine.connectStarted()
        #expect(machine.connectSucceeded() == true)
        return machine
    }

    // MARK: Decisions per phase

    @Test func freshSocketAnswersClosedAndConnects() {
        var machine = Machine()
        #expect(machine.readDecision(readsAll: false) == .refuse(.closedEmpty))
        #expect(machine.sendDecision() == .refuse(.closedEmpty))
        #expect(machine.closeDecision() == .refuse(.closedEmpty))
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 0, bytesReadAhead: 0)) == .refuse(.closedEmpty))
        #expect(machine.shutdownDecision(connectionOpen: true) == .refuse(.closedEmpty))
        #expect(machine.connectDecision() == .proceed(releasingCurrent: false))
        #expect(!machine.isReadable)
    }

    @Test func everythingIsBusyWhileConnecting() {
        var machine = Machine()
        machine.connectStarted()
        for waiting in [false, true] {
            #expect(machine.connectDecision() == .refuse(.busy(.connect)))
            #expect(machine.readDecision(readsAll: true) == .refuse(.busy(.connect)))
            #expect(machine.sendDecision() == .refuse(.busy(.connect)))
            #expect(machine.closeDecision() == .refuse(.busy(.connect)))
            #expect(machine.resetForReuse() == false)
            if !waiting { #expect(machine.waitForPool(until: Self.at(10)) == Self.at(10)) }
            #expect(machine.phase == (waiting ? .waitingForPool : .waitingForPool))
        }
    }

    // MARK: TLS handshake

    @Test func aHandshakeMakesEveryOtherOperationBusyConnecting() {
        var machine = Self.connected()
        #expect(machine.handshakeDecision() == .proceed)
        #expect(machine.handshakeWaits(until: Self.at(30)) == Self.at(30))
        #expect(machine.isHandshaking)
        #expect(machine.handshakeDecision() == .refuse(.busy(.connect)))
        #expect(machine.readDecision(readsAll: false) == .refuse(.busy(.connect)))
        #expect(!machine.isReading)
        #expect(machine.sendDecision() == .refuse(.busy(.connect)))
        #expect(machine.closeDecision() == .refuse(.busy(.connect)))
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 0, bytesReadAhead: 0)) == .refuse(.busy(.connect)))
        #expect(machine.connectDecision() == .refuse(.busy(.connect)))
        #expect(machine.shutdownDecision(connectionOpen: true) == .refuse(.busy(.connect)))
        #expect(machine.resetForReuse() == false)
        #expect(machine.deadlines.deadline(.handshake) == Self.at(30))
        #expect(machine.handshakeEnded() == true)
        #expect(machine.handshakeEnded() == false)
        #expect(machine.deadlines.deadline(.handshake) == nil)
        #expect(machine.readDecision(readsAll: false) == .proceed)
    }

    @Test func aHandshakeWaitsForNoReadOrSendAndNeedsAnOpenConnection() {
        #expect(Machine().handshakeDecision() == .refuse(.closedEmpty))
        var connecting = Machine()
        connecting.connectStarted()
        #expect(connecting.handshakeDecision() == .refuse(.busy(.connect)))
        var reading = Self.connected()
        #expect(reading.readDecision(readsAll: false) == .proceed)
        #expect(reading.handshakeDecision() == .refuse(.busy(.read)))
        var sending = Self.connected()
        _ = sending.sendWaits(count: 3, until: Self.at(10))
        #expect(sending.handshakeDecision() == .refuse(.busy(.write)))
        var ended = Self.connected()
        #expect(ended.readDecision(readsAll: false) == .proceed)
        ended.readEnded(atEndOfStream: true)
        #expect(ended.handshakeDecision() == .refuse(.closedEmpty))
        var shut = Self.connected()
        #expect(shut.shutdownDecision(connectionOpen: true) == .proceed)
        #expect(shut.handshakeDecision() == .refuse(.closedEmpty))
        var lent = Machine()
        _ = lent.adopted(limit: nil)
        #expect(lent.handshakeDecision() == .refuseDownstream)
    }

    @Test func releasingDuringAHandshakeFailsIt() {
        var machine = Self.connected()
        _ = machine.handshakeWaits(until: Self.at(30))
        let release = machine.released()
        #expect(release.failsHandshake && !release.failsRead && !release.failsSend && release.disarms)
        #expect(!machine.isHandshaking && machine.phase == .closed)
        #expect(machine.resetForReuse() == true)
    }

    @Test func aHandshakeTimesOutAtItsDeadline() {
        var machine = Self.connected()
        _ = machine.handshakeWaits(until: Self.at(30))
        Self.fire(&machine, at: Self.at(29))
        #expect(machine.isHandshaking)
        Self.fire(&machine, at: Self.at(30))
        #expect(!machine.isHandshaking && machine.phase == .closed)
    }

    @Test func aReadAndASendRunTogetherAndBlockCloseKeepaliveAndReconnect() {
        var machine = Self.connected()
        #expect(machine.readDecision(readsAll: false) == .proceed)
        #expect(machine.readDecision(readsAll: false) == .refuse(.busy(.read)))
        #expect(machine.sendDecision() == .proceed)
        #expect(machine.sendWaits(count: 5, until: Self.at(10)) == Self.at(10))
        #expect(machine.sendDecision() == .refuse(.busy(.write)))
        #expect(machine.closeDecision() == .refuse(.busy(.read)))
        #expect(machine.connectDecision() == .refuse(.busy(.read)))
        machine.readEnded()
        #expect(machine.closeDecision() == .refuse(.busy(.write)))
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 0, bytesReadAhead: 0)) == .refuse(.busy(.write)))
        #expect(machine.shutdownDecision(connectionOpen: true) == .refuse(.busy(.write)))
        #expect(machine.sendEnded() == 5)
        #expect(machine.sendEnded() == nil)
        #expect(machine.closeDecision() == .release)
        #expect(machine.connectDecision() == .proceed(releasingCurrent: true))
    }

    @Test func endOfStreamEndsReadingButNotSending() {
        var machine = Self.connected()
        _ = machine.readDecision(readsAll: false)
        machine.readEnded(atEndOfStream: true)
        #expect(machine.readDecision(readsAll: true) == .refuse(.closedEmpty))
        #expect(machine.sendDecision() == .proceed)
        #expect(!machine.isReadable)
        // `closed`, the socket left as it is: `close` answers 1 after it, as the reference's.
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 0, bytesReadAhead: 0)) == .refuse(.closedEmpty))
        #expect(machine.closeDecision() == .release)
        // A new connect starts over.
        _ = machine.released()
        machine.connectStarted()
        _ = machine.connectSucceeded()
        #expect(machine.readDecision(readsAll: false) == .proceed)
    }

    @Test func sendTimeoutShutsTheWriteSideOnly() {
        var machine = Self.connected()
        _ = machine.sendWaits(count: 3, until: Self.at(10))
        #expect(machine.sendTimedOut() == true)
        #expect(machine.sendTimedOut() == false)
        #expect(machine.sendDecision() == .refuse(.closedEmpty))
        #expect(machine.readDecision(readsAll: false) == .proceed)
        #expect(machine.closeDecision() == .refuse(.busy(.read)))
        machine.readEnded()
        #expect(machine.closeDecision() == .release)
    }

    @Test func aFailedSendEndsTheSocketOnlyAfterAFailedRead() {
        var machine = Self.connected()
        #expect(machine.sendFailed() == false)
        #expect(machine.sendDecision() == .refuse(.closedEmpty))
        #expect(machine.readDecision(readsAll: false) == .proceed)
        machine.readEnded(atEndOfStream: true)
        #expect(machine.keepaliveDecision(.init(isOver: true, bufferedBytes: 0, bytesReadAhead: 0)) == .refuse(.closedEmpty))
        var readFirst = Self.connected()
        _ = readFirst.readDecision(readsAll: false)
        readFirst.readEnded(atEndOfStream: true)
        #expect(readFirst.sendFailed() == true)
    }

    @Test func keepaliveRefusesUnreadDataAndClosesDubiousConnections() {
        let machine = Self.connected()
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 0, bytesReadAhead: 0)) == .pool)
        #expect(machine.keepaliveDecision(.init(isOver: true, bufferedBytes: 0, bytesReadAhead: 0)) == .closeWithConnectionFailure)
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 4, bytesReadAhead: 0)) == .refuse(.unreadData))
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 4, bytesReadAhead: 3)) == .refuse(.unreadData))
        #expect(machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 4, bytesReadAhead: 4)) == .close(.dubiousState))
    }

    @Test func shutdownNeedsAnOpenConnection() {
        var machine = Self.connected()
        #expect(machine.shutdownDecision(connectionOpen: false) == .refuse(.closedEmpty))
        #expect(machine.shutdownDecision(connectionOpen: true) == .proceed)
        #expect(machine.writeClosed)
        #expect(machine.sendDecision() == .refuse(.closedEmpty))
    }

    // MARK: Attempts

    @Test func aCompletionOfAnEarlierAttemptOnlyCleansUp() {
        var machine = Machine()
        machine.connectStarted()
        let first = machine.generation
        _ = machine.abort()
        #expect(machine.connectAborted() == false)
        #expect(machine.isCurrentAttempt(first) == false)
        #expect(machine.connectSucceeded(generation: first) == false)
        #expect(machine.connectFailed(generation: first) == false)
        machine.connectStarted()
        #expect(machine.connectSucceeded(generation: first) == false)
        #expect(machine.connectSucceeded(generation: machine.generation) == true)
        #expect(machine.phase == .connected)
    }

    @Test func poolCallbacksNeedAWaitingAttempt() {
        var machine = Machine()
        #expect(machine.poolGrantedConnect() == false)
        #expect(machine.connectSucceeded() == false)
        #expect(machine.connectFailed() == false)
        machine.connectStarted()
        #expect(machine.waitForPool(until: Self.at(10)) == Self.at(10))
        #expect(machine.poolGrantedConnect() == true)
        #expect(machine.phase == .opening && machine.deadlines.deadline(.poolWait) == nil)
        #expect(machine.connectInProgress(until: Self.at(20)) == nil)  // armed earlier already
        #expect(machine.connectFailed() == true)
        #expect(machine.phase == .closed && machine.deadlines.deadline(.connect) == nil)
    }

    // MARK: Lent client connections

    @Test func aLentBodyEndsAtItsLimitAndAnswersEmptyForAll() {
        var machine = Machine()
        #expect(machine.adopted(limit: 5) == false)
        #expect(machine.readWindow(available: 8, inputClosed: false) == (5, true))
        #expect(machine.readWindow(available: 3, inputClosed: false) == (3, false))
        #expect(machine.consumed(3) == false)
        #expect(machine.readWindow(available: 8, inputClosed: false) == (2, true))
        #expect(machine.consumed(2) == true)
        machine.bodyGivenBack()
        #expect(machine.isReadable)
        #expect(machine.readDecision(readsAll: true) == .emptyBody)
        #expect(machine.readDecision(readsAll: true) == .emptyBody)
        #expect(machine.readDecision(readsAll: false) == .refuse(.closedEmpty))
        #expect(machine.readDecision(readsAll: true) == .refuse(.closedEmpty))
    }

    @Test func anEmptyBodyEndsAtOnceAndARawConnectionHasNoLimit() {
        var machine = Machine()
        #expect(machine.adopted(limit: 0) == true)
        var raw = Machine()
        #expect(raw.adopted(limit: nil) == false)
        #expect(raw.readWindow(available: 8, inputClosed: false) == (8, false))
        #expect(raw.consumed(8) == false)
        let release = raw.released()
        #expect(release.lent && release.unreadBodyBytes == nil)
    }

    @Test func releaseReportsWhatWasInFlight() {
        var machine = Self.connected()
        _ = machine.readDecision(readsAll: false)
        _ = machine.readWaits(until: Self.at(10))
        _ = machine.sendWaits(count: 1, until: Self.at(20))
        #expect(machine.released() == .init(lent: false, unreadBodyBytes: nil, failsRead: true, failsSend: true, failsHandshake: false, disarms: true))
        #expect(machine.phase == .closed && !machine.isReading && machine.pendingSendCount == nil)
        #expect(machine.released() == .init(lent: false, unreadBodyBytes: nil, failsRead: false, failsSend: false, failsHandshake: false, disarms: false))
        #expect(machine.resetForReuse() == true)
        #expect(machine.phase == .fresh)
    }

    // MARK: Deadlines

    @Test func theEntryIsArmedForTheEarliestDeadlineAndLazilyRearmed() {
        var machine = Self.connected()
        _ = machine.readDecision(readsAll: false)
        #expect(machine.readWaits(until: Self.at(30)) == Self.at(30))
        #expect(machine.sendWaits(count: 1, until: Self.at(20)) == Self.at(20))
        machine.readProgressed(until: Self.at(50))
        #expect(machine.deadlines.armed == Self.at(20))
        // Fired early for the send: the read's later deadline re-arms it.
        machine.timerFired()
        #expect(machine.takeExpired(at: Self.at(20)) == .send)
        #expect(machine.takeExpired(at: Self.at(20)) == nil)
        #expect(machine.rearm() == Self.at(50))
        #expect(machine.rearm() == nil)
        // A read that ended leaves the entry armed; it fires, finds nothing, arms nothing.
        machine.readEnded()
        machine.timerFired()
        #expect(machine.takeExpired(at: Self.at(50)) == nil)
        #expect(machine.rearm() == nil)
        #expect(machine.resetForReuse() == false)  // still connected
    }

    @Test func deadlinesThatPassTogetherAreTakenInOrder() {
        var deadlines = SocketDeadlines()
        _ = deadlines.set(.connect, at: Self.at(1))
        _ = deadlines.set(.send, at: Self.at(2))
        _ = deadlines.set(.read, at: Self.at(3))
        _ = deadlines.set(.poolWait, at: Self.at(9))
        deadlines.entryFired()
        #expect(deadlines.takeExpired(at: Self.at(5)) == .read)
        #expect(deadlines.takeExpired(at: Self.at(5)) == .send)
        #expect(deadlines.takeExpired(at: Self.at(5)) == .connect)
        #expect(deadlines.takeExpired(at: Self.at(5)) == nil)
        #expect(deadlines.rearm() == Self.at(9))
        #expect(deadlines.clearAll() == true)
        #expect(deadlines.armed == nil && deadlines.rearm() == nil)
    }

    @Test func resetIsRefusedWhileTheEntryIsArmed() {
        var machine = Machine()
        machine.connectStarted()
        _ = machine.waitForPool(until: Self.at(10))
        #expect(machine.connectFailed() == true)
        #expect(machine.resetForReuse() == false)
        #expect(machine.cancelDeadlines() == true)
        #expect(machine.resetForReuse() == true)
    }

    // MARK: Every reachable state

    /// Explores every state reachable through the socket's events (with two deadlines and
    /// two firing times) and checks the machine's invariants in each.
    @Test func invariantsHoldInEveryReachableState() {
        let events: [(String, (inout Machine) -> Void)] = [
            ("connectDecision", { if case .proceed(true) = $0.connectDecision() { _ = $0.released() } }),
            ("connectStarted", {
                guard case .proceed(let releasing) = $0.connectDecision() else { return }
                if releasing { _ = $0.released() }
                $0.connectStarted()
            }),
            ("waitForPool", {
                if $0.phase == .opening, $0.deadlines.deadline(.connect) == nil { _ = $0.waitForPool(until: Self.at(10)) }
            }),
            ("inProgress", { if $0.phase == .opening { _ = $0.connectInProgress(until: Self.at(20)) } }),
            ("succeeded", { _ = $0.connectSucceeded() }),
            ("failed", { _ = $0.connectFailed() }),
            ("granted", { _ = $0.poolGrantedConnect() }),
            ("adoptBody", { if $0.phase != .connected && !$0.isConnecting { _ = $0.adopted(limit: 2) } }),
            ("adoptRaw", { if $0.phase != .connected && !$0.isConnecting { _ = $0.adopted(limit: nil) } }),
            ("read", { _ = $0.readDecision(readsAll: false) }),
            ("readAll", { _ = $0.readDecision(readsAll: true) }),
            ("readWaits", { if $0.isReading { _ = $0.readWaits(until: Self.at(10)) } }),
            ("readProgress", { if $0.isReading, $0.deadlines.deadline(.read) != nil { $0.readProgressed(until: Self.at(20)) } }),
            ("readEnded", { if $0.isReading { $0.readEnded() } }),
            ("readEOF", { if $0.isReading { $0.readEnded(atEndOfStream: true) } }),
            ("failAtBodyEnd", {
                // A read that fails hands its partial bytes back (counted off a body) first.
                guard $0.isReading else { return }
                if $0.consumed(2) { $0.bodyGivenBack() }
                $0.readEnded(atEndOfStream: true)
            }),
            ("consume", {
                // A read delivers, then counts what it took off a body.
                guard $0.isReading else { return }
                $0.readEnded()
                if $0.consumed(1) { $0.bodyGivenBack() }
            }),
            // A request body's socket has no `send` (only the raw one does).
            ("send", {
                if $0.readLimit == nil, $0.sendDecision() == .proceed { _ = $0.sendWaits(count: 1, until: Self.at(20)) }
            }),
            ("sendEnded", { _ = $0.sendEnded() }),
            ("handshake", {
                if $0.handshakeDecision() == .proceed { _ = $0.handshakeWaits(until: Self.at(20)) }
            }),
            // A handshake ends either way: completed, or failed (which closes the connection).
            ("handshakeCompleted", { _ = $0.handshakeEnded() }),
            ("handshakeFailed", { if $0.handshakeEnded() { _ = $0.released() } }),
            ("sendTimedOut", { _ = $0.sendTimedOut() }),
            ("close", { if $0.closeDecision() == .release { _ = $0.released() } }),
            ("shutdown", { _ = $0.shutdownDecision(connectionOpen: true) }),
            ("abort", {
                switch $0.abort() {
                case .connected: _ = $0.released()
                case .waitingForPool, .opening: _ = $0.connectAborted()
                case .fresh, .closed: _ = $0.cancelDeadlines()
                }
            }),
            ("reset", { _ = $0.resetForReuse() }),
            ("fire15", { Self.fire(&$0, at: Self.at(15)) }),
            ("fire25", { Self.fire(&$0, at: Self.at(25)) }),
        ]
        var seen: Set<Machine> = []
        var queue = [Machine()]
        while let machine = queue.popLast() {
            var normalized = machine
            normalized.generation = 0
            guard seen.insert(normalized).inserted else { continue }
            Self.checkInvariants(machine)
            for (_, event) in events {
                var next = machine
                event(&next)
                queue.append(next)
            }
        }
        #expect(seen.count > 100)
    }

    /// What the shell does when the entry fires: each expired operation ends.
    static func fire(_ machine: inout Machine, at now: NIODeadline) {
        guard machine.deadlines.armed.map({ $0 <= now }) ?? false else { return }
        machine.timerFired()
        while let operation = machine.takeExpired(at: now) {
            switch operation {
            case .read: if machine.isReading { machine.readEnded() }
            case .send: _ = machine.sendTimedOut()
            case .poolWait, .connect: _ = machine.connectFailed()
            case .handshake: if machine.handshakeEnded() { _ = machine.released() }
            }
        }
        _ = machine.rearm()
    }

    static func checkInvariants(_ machine: Machine) {
        let deadlines = machine.deadlines
        if machine.isReading || machine.pendingSendCount != nil { #expect(machine.phase == .connected) }
        if deadlines.deadline(.read) != nil { #expect(machine.isReading) }
        if deadlines.deadline(.send) != nil { #expect(machine.pendingSendCount != nil) }
        if deadlines.deadline(.poolWait) != nil { #expect(machine.phase == .waitingForPool) }
        if deadlines.deadline(.connect) != nil { #expect(machine.phase == .opening) }
        if deadlines.deadline(.handshake) != nil { #expect(machine.isHandshaking) }
        if machine.isHandshaking {
            // Nothing else runs beside a handshake, and nothing else may start.
            #expect(machine.phase == .connected && !machine.isReading && machine.pendingSendCount == nil)
            #expect(machine.busyError == .busy(.connect))
        }
        if machine.isLent || machine.readLimit != nil { #expect(machine.phase == .connected, "\(machine)") }
        // Every deadline is covered by the armed entry: none can be missed.
        for operation in SocketDeadlines.Operation.allCases {
            if let deadline = deadlines.deadline(operation) {
                #expect(deadlines.armed.map { $0 <= deadline } ?? false)
            }
        }
        // Releasing is only ever offered for a connection nothing is using.
        if machine.closeDecision() == .release { #expect(machine.phase == .connected && machine.busyError == nil) }
        if machine.keepaliveDecision(.init(isOver: false, bufferedBytes: 0, bytesReadAhead: 0)) == .pool {
            #expect(machine.busyError == nil && !machine.readFailed && !machine.writeClosed)
        }
        var copy = machine
        if copy.resetForReuse() {
            #expect(!machine.isConnecting && machine.phase != .connected && deadlines.armed == nil)
            #expect(copy.phase == .fresh && !copy.bodyEnded && !copy.readFailed && !copy.writeClosed)
        }
    }
}
