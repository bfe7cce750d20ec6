import CosocketTestSupport
import Testing

@testable import CosocketCore

// Identifiers with literal syntax so expectations read like the scenario.
private struct C: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    let id: Int
    init(_ id: Int) { self.id = id }
    init(integerLiteral value: Int) { self.id = value }
    var description: String { "c\(id)" }
}

private struct W: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    let id: Int
    init(_ id: Int) { self.id = id }
    init(integerLiteral value: Int) { self.id = value }
    var description: String { "w\(id)" }
}

private typealias SM = PoolStateMachine<C, W>

// `#expect` captures its operands in closures, so a mutating call cannot appear
// inside it; these evaluate the operands first.
private func expectEqual<T: Equatable>(
    _ actual: T, _ expected: T, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual == expected, sourceLocation: sourceLocation)
}

private func expectTrue(_ condition: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(condition, sourceLocation: sourceLocation)
}

private let tenSeconds = Duration.seconds(10)

extension PoolStateMachine {
    /// Opens a connection through the normal path and asserts it was a fresh connect.
    fileprivate mutating func open(
        _ connection: Connection,
        key: String,
        waiter: Waiter,
        poolSize: Int? = nil,
        backlog: Int? = nil
    ) -> Bool {
        guard checkout(key: key, waiter: waiter, poolSize: poolSize, backlog: backlog) == .connect else {
            return false
        }
        connectSucceeded(key: key, connection: connection)
        return true
    }
}

@Suite("PoolStateMachine")
struct PoolStateMachineTests {

    // MARK: - Basics

    @Test func checkoutWithoutOptionsConnectsAndCreatesNoPool() {
        var sm = SM()
        expectEqual(sm.checkout(key: "h:80", waiter: 1), .connect)
        #expect(sm.statistics(for: "h:80") == PoolStatistics(connecting: 1))
        sm.connectSucceeded(key: "h:80", connection: 1)
        #expect(sm.statistics(for: "h:80") == PoolStatistics(inUse: 1, totalCreated: 1))
        // No pool: closing forgets the key entirely.
        expectTrue(sm.closed(key: "h:80", connection: 1).isEmpty)
        #expect(sm.statistics(for: "h:80") == nil)
        #expect(sm.invariantViolations().isEmpty)
    }

    @Test func withoutBacklogNothingLimitsOpenConnections() {
        var sm = SM()
        for i in 0..<100 {
            expectEqual(sm.checkout(key: "k", waiter: W(i), poolSize: 2), .connect)
        }
        #expect(sm.statistics(for: "k")?.connecting == 100)
        #expect(sm.statistics(for: "k")?.size == 2)
        #expect(sm.statistics(for: "k")?.backlog == nil)
    }

    @Test func releaseCreatesPoolWithDefaultSize() {
        var sm = SM(defaultPoolSize: 2)
        for i in 1...3 { expectTrue(sm.open(C(i), key: "k", waiter: W(i))) }
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)), [.park(1, idleTimeout: tenSeconds)])
        #expect(sm.statistics(for: "k")?.size == 2)
        expectEqual(Array(sm.release(key: "k", connection: 2, idleTimeout: tenSeconds)), [.park(2, idleTimeout: tenSeconds)])
        expectEqual(Array(sm.release(key: "k", connection: 3, idleTimeout: tenSeconds)), [.park(3, idleTimeout: tenSeconds), .close(1)])
    }

    @Test func zeroTimeoutParksWithoutTimer() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1))
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: .zero)), [.park(1, idleTimeout: nil)])
        expectEqual(sm.open(2, key: "k", waiter: 2), false)  // reused c1 instead
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: .milliseconds(-5))), [.park(1, idleTimeout: nil)])
    }

    // MARK: - LIFO reuse, LRU eviction

    @Test func reuseIsLIFO() {
        var sm = SM()
        for i in 1...3 { expectTrue(sm.open(C(i), key: "k", waiter: W(i), poolSize: 3)) }
        for i in 1...3 {
            expectEqual(Array(sm.release(key: "k", connection: C(i), idleTimeout: tenSeconds)), [.park(C(i), idleTimeout: tenSeconds)])
        }
        expectEqual(sm.checkout(key: "k", waiter: 10), .reuse(3))
        expectEqual(sm.checkout(key: "k", waiter: 11), .reuse(2))
        expectEqual(sm.checkout(key: "k", waiter: 12), .reuse(1))
        expectEqual(sm.checkout(key: "k", waiter: 13), .connect)
        #expect(sm.statistics(for: "k")?.totalReused == 3)
        #expect(sm.statistics(for: "k")?.inUse == 3)
        #expect(sm.statistics(for: "k")?.connecting == 1)
    }

    @Test func evictionIsLRU() {
        var sm = SM()
        for i in 1...4 { expectTrue(sm.open(C(i), key: "k", waiter: W(i), poolSize: 2)) }
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        _ = sm.release(key: "k", connection: 2, idleTimeout: tenSeconds)
        // Reusing c2 and putting it back makes c1 the least recently used.
        expectEqual(sm.checkout(key: "k", waiter: 10), .reuse(2))
        expectEqual(Array(sm.release(key: "k", connection: 2, idleTimeout: tenSeconds)), [.park(2, idleTimeout: tenSeconds)])
        expectEqual(Array(sm.release(key: "k", connection: 3, idleTimeout: tenSeconds)), [.park(3, idleTimeout: tenSeconds), .close(1)])
        expectEqual(Array(sm.release(key: "k", connection: 4, idleTimeout: tenSeconds)), [.park(4, idleTimeout: tenSeconds), .close(2)])
        let stats = sm.statistics(for: "k")
        #expect(stats?.evicted == 2)
        #expect(stats?.idle == 2)
        #expect(stats?.inUse == 0)
        expectEqual(sm.checkout(key: "k", waiter: 11), .reuse(4))
        expectEqual(sm.checkout(key: "k", waiter: 12), .reuse(3))
        // An evicted connection's late timer is stale.
        expectTrue(sm.idleTimerFired(key: "k", connection: 1).isEmpty)
    }

    // MARK: - Pool size fixed at creation

    @Test func sizeFromConnectWinsOverLaterSetKeepalive() {
        var sm = SM()
        for i in 1...3 { expectTrue(sm.open(C(i), key: "k", waiter: W(i), poolSize: 2)) }
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds, poolSize: 5)
        _ = sm.release(key: "k", connection: 2, idleTimeout: tenSeconds, poolSize: 5)
        expectEqual(Array(sm.release(key: "k", connection: 3, idleTimeout: tenSeconds, poolSize: 5)), [.park(3, idleTimeout: tenSeconds), .close(1)])
        #expect(sm.statistics(for: "k")?.size == 2)
    }

    @Test func sizeFromSetKeepaliveWinsOverLaterConnect() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1))
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds, poolSize: 1)
        #expect(sm.statistics(for: "k")?.size == 1)
        // Later pool_size and backlog are ignored: the pool has size 1, no backlog.
        expectEqual(sm.checkout(key: "k", waiter: 2, poolSize: 5, backlog: 3), .reuse(1))
        expectEqual(sm.checkout(key: "k", waiter: 3, poolSize: 5, backlog: 3), .connect)
        expectEqual(sm.checkout(key: "k", waiter: 4, poolSize: 5, backlog: 3), .connect)  // no backlog => no limit
        sm.connectSucceeded(key: "k", connection: 3)
        sm.connectSucceeded(key: "k", connection: 4)
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        expectEqual(Array(sm.release(key: "k", connection: 3, idleTimeout: tenSeconds, poolSize: 5)), [.park(3, idleTimeout: tenSeconds), .close(1)])
        let stats = sm.statistics(for: "k")
        #expect(stats?.size == 1)
        #expect(stats?.backlog == nil)
    }

    @Test func backlogWithoutSizeUsesDefaultSize() {
        var sm = SM(defaultPoolSize: 2)
        expectEqual(sm.checkout(key: "k", waiter: 1, backlog: 1), .connect)
        expectEqual(sm.checkout(key: "k", waiter: 2), .connect)
        expectEqual(sm.checkout(key: "k", waiter: 3), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 4), .fail(.tooManyWaiting))
        #expect(sm.statistics(for: "k")?.size == 2)
        #expect(sm.statistics(for: "k")?.backlog == 1)
    }

    @Test func nonsensicalConfigurationIsClamped() {
        var sm = SM(defaultPoolSize: 0)
        #expect(sm.defaultPoolSize == 1)
        expectEqual(sm.checkout(key: "k", waiter: 1, poolSize: 0, backlog: -3), .connect)
        #expect(sm.statistics(for: "k")?.size == 1)
        #expect(sm.statistics(for: "k")?.backlog == 0)
        expectEqual(sm.checkout(key: "k", waiter: 2), .fail(.tooManyWaiting))
    }

    // MARK: - Backlog

    @Test func backlogIsFIFO() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 3))
        expectEqual(sm.checkout(key: "k", waiter: 2), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 3), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 4), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 5), .fail(.tooManyWaiting))
        #expect(sm.statistics(for: "k")?.waiting == 3)

        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)), [.handOver(1, to: 2)])
        expectEqual(Array(sm.closed(key: "k", connection: 1)), [.connectForWaiter(3)])
        expectEqual(Array(sm.connectFailed(key: "k")), [.connectForWaiter(4)])
        sm.connectSucceeded(key: "k", connection: 9)
        expectEqual(Array(sm.release(key: "k", connection: 9, idleTimeout: tenSeconds)), [.park(9, idleTimeout: tenSeconds)])
        let stats = sm.statistics(for: "k")
        #expect(stats == PoolStatistics(size: 1, backlog: 3, idle: 1, totalCreated: 2, totalReused: 1, connectFailures: 1, rejected: 1))
        #expect(sm.invariantViolations().isEmpty)
    }

    @Test func backlogCountsIdleInUseAndConnecting() {
        var sm = SM()
        expectEqual(sm.checkout(key: "k", waiter: 1, poolSize: 3, backlog: 1), .connect)  // connecting
        expectTrue(sm.open(2, key: "k", waiter: 2))  // in use
        expectTrue(sm.open(3, key: "k", waiter: 3))
        _ = sm.release(key: "k", connection: 3, idleTimeout: tenSeconds)  // idle
        #expect(sm.statistics(for: "k")?.open == 3)
        // An idle connection is reused rather than queueing.
        expectEqual(sm.checkout(key: "k", waiter: 4), .reuse(3))
        expectEqual(sm.checkout(key: "k", waiter: 5), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 6), .fail(.tooManyWaiting))
        #expect(sm.statistics(for: "k") == PoolStatistics(size: 3, backlog: 1, inUse: 2, connecting: 1, waiting: 1, totalCreated: 2, totalReused: 1, rejected: 1))
    }

    @Test func waiterTimesOut() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 5))
        expectEqual(sm.checkout(key: "k", waiter: 2), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 3), .wait)
        expectEqual(Array(sm.waiterTimedOut(key: "k", waiter: 2)), [.failWaiter(2, .timeout)])
        expectTrue(sm.waiterTimedOut(key: "k", waiter: 2).isEmpty)  // twice: stale
        #expect(sm.statistics(for: "k")?.waiting == 1)
        #expect(sm.statistics(for: "k")?.waitTimeouts == 1)
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)), [.handOver(1, to: 3)])
        // w3's timer racing with its wake-up is ignored.
        expectTrue(sm.waiterTimedOut(key: "k", waiter: 3).isEmpty)
        #expect(PoolFailure.timeout.message == "timeout")
    }

    @Test func waiterTimesOutFromTheMiddleOfTheQueue() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 5))
        for i in 2...5 { expectEqual(sm.checkout(key: "k", waiter: W(i)), .wait) }
        expectEqual(Array(sm.waiterTimedOut(key: "k", waiter: 4)), [.failWaiter(4, .timeout)])
        expectEqual(Array(sm.closed(key: "k", connection: 1)), [.connectForWaiter(2)])
        expectEqual(Array(sm.connectFailed(key: "k")), [.connectForWaiter(3)])
        expectEqual(Array(sm.connectFailed(key: "k")), [.connectForWaiter(5)])
        expectTrue(sm.connectFailed(key: "k").isEmpty)
        #expect(sm.statistics(for: "k") == PoolStatistics(size: 1, backlog: 5, totalCreated: 1, connectFailures: 3, waitTimeouts: 1))
    }

    @Test func waiterCancelled() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 2))
        expectEqual(sm.checkout(key: "k", waiter: 2), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 3), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 4), .fail(.tooManyWaiting))
        expectTrue(sm.waiterCancelled(key: "k", waiter: 2))
        expectEqual(sm.waiterCancelled(key: "k", waiter: 2), false)
        expectTrue(sm.waiterTimedOut(key: "k", waiter: 2).isEmpty)
        expectEqual(sm.checkout(key: "k", waiter: 5), .wait)  // room again in the queue
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)), [.handOver(1, to: 3)])
        expectEqual(Array(sm.closed(key: "k", connection: 1)), [.connectForWaiter(5)])
        #expect(sm.statistics(for: "k")?.waitTimeouts == 0)
    }

    @Test func tooManyWaiting() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 0))
        expectEqual(sm.checkout(key: "k", waiter: 2), .fail(.tooManyWaiting))
        expectEqual(sm.checkout(key: "k", waiter: 3), .fail(.tooManyWaiting))
        #expect(sm.statistics(for: "k")?.rejected == 2)
        #expect(sm.statistics(for: "k")?.waiting == 0)
        #expect(PoolFailure.tooManyWaiting.message == "too many waiting connect operations")
    }

    @Test func failedConnectReleasesSlotAndWakesHeadWaiter() {
        var sm = SM()
        expectEqual(sm.checkout(key: "k", waiter: 1, poolSize: 2, backlog: 2), .connect)
        expectEqual(sm.checkout(key: "k", waiter: 2), .connect)
        expectEqual(sm.checkout(key: "k", waiter: 3), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 4), .wait)
        expectEqual(Array(sm.connectFailed(key: "k")), [.connectForWaiter(3)])
        #expect(sm.statistics(for: "k")?.connecting == 2)
        #expect(sm.statistics(for: "k")?.waiting == 1)
        sm.connectSucceeded(key: "k", connection: 1)
        sm.connectSucceeded(key: "k", connection: 3)
        #expect(sm.statistics(for: "k") == PoolStatistics(size: 2, backlog: 2, inUse: 2, waiting: 1, totalCreated: 2, connectFailures: 1))
    }

    @Test func failedConnectWithoutWaiterJustFreesTheSlot() {
        var sm = SM()
        expectEqual(sm.checkout(key: "k", waiter: 1, poolSize: 1, backlog: 1), .connect)
        expectTrue(sm.connectFailed(key: "k").isEmpty)
        expectEqual(sm.checkout(key: "k", waiter: 2), .connect)
        // Pool key kept even though empty: its configuration persists.
        expectTrue(sm.connectFailed(key: "k").isEmpty)
        #expect(sm.statistics(for: "k")?.size == 1)
        #expect(sm.statistics(for: "k")?.backlog == 1)
    }

    // MARK: - Idle connections going away

    @Test func idleTimerExpiry() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 2))
        expectTrue(sm.open(2, key: "k", waiter: 2))
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        _ = sm.release(key: "k", connection: 2, idleTimeout: tenSeconds)
        expectEqual(Array(sm.idleTimerFired(key: "k", connection: 1)), [.close(1)])
        expectTrue(sm.idleTimerFired(key: "k", connection: 1).isEmpty)
        let stats = sm.statistics(for: "k")
        #expect(stats?.idle == 1)
        #expect(stats?.closedByIdleTimeout == 1)
        expectEqual(sm.checkout(key: "k", waiter: 3), .reuse(2))
        expectEqual(sm.checkout(key: "k", waiter: 4), .connect)
    }

    @Test func idleTimerExpiryWithBacklogFreesSlot() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 1))
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        expectEqual(Array(sm.idleTimerFired(key: "k", connection: 1)), [.close(1)])
        #expect(sm.statistics(for: "k")?.open == 0)
        expectEqual(sm.checkout(key: "k", waiter: 2), .connect)
    }

    @Test func peerCloseWhileIdle() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 3, backlog: 0))
        expectTrue(sm.open(2, key: "k", waiter: 2))
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        _ = sm.release(key: "k", connection: 2, idleTimeout: .zero)
        expectEqual(Array(sm.idleConnectionClosedByPeer(key: "k", connection: 2)), [.close(2)])
        expectTrue(sm.idleConnectionClosedByPeer(key: "k", connection: 2).isEmpty)
        #expect(sm.statistics(for: "k")?.closedByPeer == 1)
        #expect(sm.statistics(for: "k")?.idle == 1)
        // Reused before the peer-close notification arrives: the notification is stale.
        expectEqual(sm.checkout(key: "k", waiter: 3), .reuse(1))
        expectTrue(sm.idleConnectionClosedByPeer(key: "k", connection: 1).isEmpty)
        expectTrue(sm.idleTimerFired(key: "k", connection: 1).isEmpty)
        #expect(sm.statistics(for: "k")?.inUse == 1)
        // The user then sees the error and closes it.
        expectTrue(sm.closed(key: "k", connection: 1).isEmpty)
        #expect(sm.statistics(for: "k")?.open == 0)
    }

    // MARK: - Hand-over and wake-ups

    @Test func releaseWithQueuedWaiterHandsOverDirectly() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 1))
        expectEqual(sm.checkout(key: "k", waiter: 2), .wait)
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)), [.handOver(1, to: 2)])
        let stats = sm.statistics(for: "k")
        #expect(stats?.idle == 0)
        #expect(stats?.inUse == 1)
        #expect(stats?.totalReused == 1)
        #expect(stats?.waiting == 0)
        // The new holder puts it back with nobody waiting: parked.
        expectEqual(Array(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)), [.park(1, idleTimeout: tenSeconds)])
    }

    @Test func closedWakesWaiter() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 1, backlog: 2))
        expectEqual(sm.checkout(key: "k", waiter: 2), .wait)
        expectEqual(sm.checkout(key: "k", waiter: 3), .wait)
        expectEqual(Array(sm.closed(key: "k", connection: 1)), [.connectForWaiter(2)])
        #expect(sm.statistics(for: "k")?.connecting == 1)
        #expect(sm.statistics(for: "k")?.waiting == 1)
        expectTrue(sm.closed(key: "k", connection: 1).isEmpty)  // duplicate
    }

    @Test func connectionsOpenedBeforePoolCreationStillCount() {
        var sm = SM()
        // Three connects without options: no pool yet.
        for i in 1...3 { expectTrue(sm.open(C(i), key: "k", waiter: W(i))) }
        // Now a connect creates the pool with size 2 and a backlog: it is over-full.
        expectEqual(sm.checkout(key: "k", waiter: 4, poolSize: 2, backlog: 2), .wait)
        expectTrue(sm.closed(key: "k", connection: 1).isEmpty)  // 2 open, still full
        expectEqual(Array(sm.closed(key: "k", connection: 2)), [.connectForWaiter(4)])
        #expect(sm.invariantViolations().isEmpty)
    }

    // MARK: - Stale / unknown events

    @Test func staleEventsAreIgnored() {
        var sm = SM()
        // Unknown key.
        expectTrue(sm.connectFailed(key: "x").isEmpty)
        expectTrue(sm.release(key: "x", connection: 1, idleTimeout: tenSeconds).isEmpty)
        expectTrue(sm.closed(key: "x", connection: 1).isEmpty)
        expectTrue(sm.idleTimerFired(key: "x", connection: 1).isEmpty)
        expectTrue(sm.idleConnectionClosedByPeer(key: "x", connection: 1).isEmpty)
        expectTrue(sm.waiterTimedOut(key: "x", waiter: 1).isEmpty)
        expectEqual(sm.waiterCancelled(key: "x", waiter: 1), false)
        #expect(sm.allStatistics.isEmpty)

        // Known key, unknown ids.
        expectTrue(sm.open(1, key: "k", waiter: 1, poolSize: 2, backlog: 1))
        let before = sm.statistics(for: "k")
        expectTrue(sm.connectFailed(key: "k").isEmpty)  // no connect outstanding
        expectTrue(sm.release(key: "k", connection: 99, idleTimeout: tenSeconds).isEmpty)
        expectTrue(sm.closed(key: "k", connection: 99).isEmpty)
        expectTrue(sm.idleTimerFired(key: "k", connection: 1).isEmpty)  // in use, not idle
        expectTrue(sm.idleConnectionClosedByPeer(key: "k", connection: 1).isEmpty)
        expectTrue(sm.waiterTimedOut(key: "k", waiter: 1).isEmpty)
        expectEqual(sm.waiterCancelled(key: "k", waiter: 1), false)
        sm.connectSucceeded(key: "k", connection: 1)  // duplicate report
        #expect(sm.statistics(for: "k") == before)

        // Wrong key for a known connection.
        expectTrue(sm.release(key: "other", connection: 1, idleTimeout: tenSeconds).isEmpty)
        // Double release / closed after release.
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        expectTrue(sm.release(key: "k", connection: 1, idleTimeout: tenSeconds).isEmpty)
        expectTrue(sm.closed(key: "k", connection: 1).isEmpty)
        #expect(sm.statistics(for: "k")?.idle == 1)
        #expect(sm.invariantViolations().isEmpty)
    }

    // MARK: - Shutdown

    @Test func shutdownClosesIdleAndFailsWaiters() {
        var sm = SM()
        expectTrue(sm.open(1, key: "a", waiter: 1, poolSize: 2, backlog: 2))
        expectTrue(sm.open(2, key: "a", waiter: 2))
        expectEqual(sm.checkout(key: "a", waiter: 3), .wait)
        expectTrue(sm.open(4, key: "b", waiter: 4))
        expectTrue(sm.open(5, key: "b", waiter: 5))
        _ = sm.release(key: "b", connection: 4, idleTimeout: tenSeconds)
        _ = sm.release(key: "b", connection: 5, idleTimeout: tenSeconds)

        let actions = sm.shutdown()
        #expect(actions.count == 3)
        #expect(Set(actions) == [.close(4), .close(5), .failWaiter(3, .shutdown)])
        #expect(sm.isShutDown)
        #expect(sm.invariantViolations().isEmpty)

        // Afterwards: no pooling, no queueing.
        expectEqual(Array(sm.release(key: "a", connection: 1, idleTimeout: tenSeconds)), [.close(1)])
        expectEqual(sm.checkout(key: "a", waiter: 6), .connect)
        expectEqual(sm.checkout(key: "a", waiter: 7), .connect)
        expectEqual(sm.checkout(key: "a", waiter: 8), .connect)
        expectTrue(sm.waiterTimedOut(key: "a", waiter: 3).isEmpty)
        #expect(sm.statistics(for: "a")?.connecting == 3)
        #expect(sm.statistics(for: "a")?.inUse == 1)
        expectTrue(sm.shutdown().isEmpty)
        #expect(PoolFailure.shutdown.message == "shutting down")
    }

    // MARK: - Statistics

    @Test func statisticsAfterScriptedSequence() {
        var sm = SM(defaultPoolSize: 30)
        // Pool "db": size 2, backlog 1.
        expectEqual(sm.checkout(key: "db", waiter: 1, poolSize: 2, backlog: 1), .connect)
        expectEqual(sm.checkout(key: "db", waiter: 2), .connect)
        expectEqual(sm.checkout(key: "db", waiter: 3), .wait)
        expectEqual(sm.checkout(key: "db", waiter: 4), .fail(.tooManyWaiting))
        sm.connectSucceeded(key: "db", connection: 1)
        expectEqual(Array(sm.connectFailed(key: "db")), [.connectForWaiter(3)])
        sm.connectSucceeded(key: "db", connection: 3)
        #expect(sm.statistics(for: "db") == PoolStatistics(size: 2, backlog: 1, inUse: 2, totalCreated: 2, connectFailures: 1, rejected: 1))
        expectEqual(sm.checkout(key: "db", waiter: 5), .wait)
        expectEqual(Array(sm.release(key: "db", connection: 1, idleTimeout: tenSeconds)), [.handOver(1, to: 5)])
        expectEqual(sm.checkout(key: "db", waiter: 6), .wait)
        expectEqual(Array(sm.waiterTimedOut(key: "db", waiter: 6)), [.failWaiter(6, .timeout)])
        _ = sm.release(key: "db", connection: 1, idleTimeout: tenSeconds)
        _ = sm.release(key: "db", connection: 3, idleTimeout: tenSeconds)
        expectEqual(Array(sm.idleTimerFired(key: "db", connection: 1)), [.close(1)])
        expectEqual(sm.checkout(key: "db", waiter: 7), .reuse(3))

        // Key "web": no options, pool created by setkeepalive with size 1.
        expectTrue(sm.open(10, key: "web", waiter: 10))
        expectTrue(sm.open(11, key: "web", waiter: 11))
        _ = sm.release(key: "web", connection: 10, idleTimeout: .zero, poolSize: 1)
        expectEqual(Array(sm.release(key: "web", connection: 11, idleTimeout: .zero)), [.park(11, idleTimeout: nil), .close(10)])
        expectEqual(Array(sm.idleConnectionClosedByPeer(key: "web", connection: 11)), [.close(11)])

        // Key "tmp": never pooled, still open.
        expectEqual(sm.checkout(key: "tmp", waiter: 20), .connect)

        let db = PoolStatistics(
            size: 2, backlog: 1, idle: 0, inUse: 1, connecting: 0, waiting: 0,
            totalCreated: 2, totalReused: 2, closedByIdleTimeout: 1, closedByPeer: 0, evicted: 0,
            connectFailures: 1, waitTimeouts: 1, rejected: 1
        )
        let web = PoolStatistics(size: 1, totalCreated: 2, closedByPeer: 1, evicted: 1)
        let tmp = PoolStatistics(connecting: 1)
        #expect(sm.statistics(for: "db") == db)
        #expect(sm.statistics(for: "web") == web)
        #expect(sm.statistics(for: "tmp") == tmp)
        #expect(sm.allStatistics == ["db": db, "web": web, "tmp": tmp])
        var seen: [String: PoolStatistics] = [:]
        sm.forEachPool { key, stats in seen[key] = stats }
        #expect(seen == sm.allStatistics)
        #expect(db.open == 1)
    }

    @Test func inUseIsTrackedWithoutBacklog() {
        var sm = SM()
        expectTrue(sm.open(1, key: "k", waiter: 1))
        expectTrue(sm.open(2, key: "k", waiter: 2))
        #expect(sm.statistics(for: "k")?.inUse == 2)
        _ = sm.release(key: "k", connection: 1, idleTimeout: tenSeconds)
        #expect(sm.statistics(for: "k")?.inUse == 1)
        expectEqual(sm.checkout(key: "k", waiter: 3), .reuse(1))
        #expect(sm.statistics(for: "k")?.inUse == 2)
        _ = sm.closed(key: "k", connection: 1)
        _ = sm.closed(key: "k", connection: 2)
        #expect(sm.statistics(for: "k") == PoolStatistics(size: 30, totalCreated: 2, totalReused: 1))
    }

    // MARK: - Actions container

    @Test func actionsContainer() {
        let empty = SM.Actions.none
        #expect(empty.isEmpty)
        #expect(empty.count == 0)
        #expect(Array(empty).isEmpty)
        let one = SM.Actions(nil, .close(1))
        #expect(one.first == .close(1))
        #expect(one.second == nil)
        #expect(one.count == 1)
        #expect(Array(one) == [.close(1)])
        let two = SM.Actions(.close(1), .connectForWaiter(2))
        #expect(two.count == 2)
        #expect(Array(two) == [.close(1), .connectForWaiter(2)])
        #expect(MemoryLayout<SM.Actions>.size <= 64)
    }

    // MARK: - Ring buffer

    @Test func ringMatchesArrayModel() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<300 {
            var ring = PoolRing<Int>()
            var model: [Int] = []
            var next = 0
            for _ in 0..<200 {
                switch rng.next(below: 6) {
                case 0, 1:
                    ring.append(next)
                    model.append(next)
                    next += 1
                case 2:
                    #expect(ring.popFirst() == (model.isEmpty ? nil : model.removeFirst()))
                case 3:
                    #expect(ring.popLast() == model.popLast())
                case 4:
                    let i = rng.next(below: model.count + 2) - 1
                    let expected: Int? = model.indices.contains(i) ? model.remove(at: i) : nil
                    #expect(ring.remove(at: i) == expected)
                default:
                    if rng.next(below: 20) == 0 {
                        ring.removeAll()
                        model.removeAll()
                    } else if let probe = model.randomElement(using: &rng) {
                        #expect(ring.firstIndex(of: probe) == model.firstIndex(of: probe))
                    }
                }
                #expect(ring.count == model.count)
                #expect(ring.first == model.first)
                #expect(ring.last == model.last)
                #expect(Array(ring) == model)
            }
        }
    }

    // MARK: - Randomized property test

    @Test(arguments: [1, 2, 3, 4])
    func randomizedInvariants(seedBlock: Int) {
        for run in 0..<500 {
            var simulation = Simulation(seed: UInt64(seedBlock) &* 1_000_003 &+ UInt64(run))
            simulation.run(events: 150)
            if !simulation.failures.isEmpty {
                Issue.record("seed block \(seedBlock) run \(run): \(simulation.failures.prefix(5))")
                return
            }
        }
    }
}

// MARK: - Test support

/// A model shell driving the state machine with random events and checking every
/// action against what the semantics allow.
private struct Simulation {
    struct KeyModel {
        var idle: [C] = []  // LRU first, MRU last
        var queue: [W] = []  // FIFO
        var inUse: Set<C> = []
        var connecting = 0
        var size: Int?
        var backlog: Int?
    }

    var rng: SplitMix
    var sm = SM(defaultPoolSize: 3)
    var keys: [String: KeyModel] = [:]
    /// Outcomes per waiter id (every checkout gets a waiter id): must end at exactly 1.
    var outcomes: [W: Int] = [:]
    var nextConnection = 1
    var nextWaiter = 1
    var failures: [String] = []
    var shutDown = false
    /// Connections closed by the machine (for stale-event probes).
    var closedConnections: [C] = []
    var servedWaiters: [W] = []

    static let keyNames = ["fixed", "lazy", "sizeOnly", "mixed"]

    init(seed: UInt64) { rng = SplitMix(seed: seed) }

    mutating func fail(_ message: String) { failures.append(message) }

    mutating func outcome(_ waiter: W) {
        outcomes[waiter, default: 0] += 1
        if outcomes[waiter, default: 0] > 1 { fail("\(waiter) got two outcomes") }
        servedWaiters.append(waiter)
    }

    mutating func run(events: Int) {
        for _ in 0..<events {
            step()
            check()
            if !failures.isEmpty { return }
        }
        // Drain: shut down, then report every outstanding connect and close every in-use connection.
        if !shutDown { shutdownEvent() }
        check()
        for name in Self.keyNames {
            while (keys[name]?.connecting ?? 0) > 0 {
                keys[name]?.connecting -= 1
                if rng.next(below: 2) == 0 {
                    apply(sm.connectFailed(key: name), key: name)
                } else {
                    let c = C(nextConnection)
                    nextConnection += 1
                    sm.connectSucceeded(key: name, connection: c)
                    keys[name]?.inUse.insert(c)
                }
            }
            for c in keys[name]?.inUse ?? [] {
                keys[name]?.inUse.remove(c)
                if rng.next(below: 2) == 0 {
                    let actions = sm.release(key: name, connection: c, idleTimeout: .seconds(1))
                    if Array(actions) != [.close(c)] { fail("release after shutdown: \(Array(actions))") }
                } else {
                    apply(sm.closed(key: name, connection: c), key: name)
                }
            }
        }
        check()
        for (waiter, count) in outcomes where count != 1 {
            fail("\(waiter) ended with \(count) outcomes")
        }
        for name in Self.keyNames {
            if let stats = sm.statistics(for: name), stats.open != 0 || stats.waiting != 0 {
                fail("\(name) not drained: \(stats)")
            }
        }
    }

    mutating func step() {
        let name = Self.keyNames[rng.next(below: Self.keyNames.count)]
        let model = keys[name] ?? KeyModel()
        switch rng.next(below: 100) {
        case 0..<30: checkoutEvent(name)
        case 30..<45:
            if model.connecting > 0 { completeConnect(name) } else { checkoutEvent(name) }
        case 45..<60:
            if let c = model.inUse.randomElement(using: &rng) { releaseEvent(name, c) }
        case 60..<68:
            if let c = model.inUse.randomElement(using: &rng) {
                keys[name]?.inUse.remove(c)
                apply(sm.closed(key: name, connection: c), key: name)
            }
        case 68..<74:
            if let c = model.idle.randomElement(using: &rng) { idleGone(name, c, byPeer: false) }
        case 74..<79:
            if let c = model.idle.randomElement(using: &rng) { idleGone(name, c, byPeer: true) }
        case 79..<86:
            if let w = model.queue.randomElement(using: &rng) {
                keys[name]?.queue.removeAll { $0 == w }
                let actions = sm.waiterTimedOut(key: name, waiter: w)
                if Array(actions) != [.failWaiter(w, .timeout)] { fail("timeout of \(w): \(Array(actions))") }
                outcome(w)
            }
        case 86..<90:
            if let w = model.queue.randomElement(using: &rng) {
                keys[name]?.queue.removeAll { $0 == w }
                if !sm.waiterCancelled(key: name, waiter: w) { fail("cancel of queued \(w) not found") }
                outcome(w)  // cancellation is its (silent) outcome
            }
        case 90..<99: staleEvent(name)
        default:
            if rng.next(below: 20) == 0 && !shutDown { shutdownEvent() } else { checkoutEvent(name) }
        }
    }

    mutating func checkoutEvent(_ name: String) {
        let w = W(nextWaiter)
        nextWaiter += 1
        var poolSize: Int?
        var backlog: Int?
        switch name {
        case "fixed": poolSize = 3; backlog = 2
        case "sizeOnly": poolSize = 2
        case "mixed":
            if rng.next(below: 3) == 0 { poolSize = 1 + rng.next(below: 4) }
            if rng.next(below: 3) == 0 { backlog = rng.next(below: 3) }
        default: break
        }
        let decision = sm.checkout(key: name, waiter: w, poolSize: poolSize, backlog: backlog)
        var model = keys[name] ?? KeyModel()
        if !shutDown, model.size == nil, poolSize != nil || backlog != nil {
            model.size = poolSize ?? 3
            model.backlog = backlog
        }
        switch decision {
        case .reuse(let c):
            if model.idle.last != c { fail("reuse of \(c) is not the MRU idle \(String(describing: model.idle.last))") }
            model.idle.removeAll { $0 == c }
            model.inUse.insert(c)
            outcome(w)
        case .connect:
            if !shutDown, let size = model.size, model.backlog != nil,
                model.idle.count + model.inUse.count + model.connecting >= size
            {
                fail("connect while full in \(name)")
            }
            if !model.idle.isEmpty { fail("connect while idle connections exist") }
            model.connecting += 1
            outcome(w)
        case .wait:
            if shutDown { fail("wait after shutdown") }
            guard let backlog = model.backlog, model.queue.count < backlog else {
                fail("wait without room in the queue")
                return
            }
            model.queue.append(w)
        case .fail(let failure):
            if failure != .tooManyWaiting || model.queue.count != model.backlog { fail("bad failure \(failure)") }
            outcome(w)
        }
        keys[name] = model
    }

    mutating func completeConnect(_ name: String) {
        keys[name]?.connecting -= 1
        if rng.next(below: 4) == 0 {
            apply(sm.connectFailed(key: name), key: name)
        } else {
            let c = C(nextConnection)
            nextConnection += 1
            sm.connectSucceeded(key: name, connection: c)
            keys[name]?.inUse.insert(c)
        }
    }

    mutating func releaseEvent(_ name: String, _ c: C) {
        let timeout: Duration = rng.next(below: 3) == 0 ? .zero : .seconds(5)
        let size: Int? = rng.next(below: 2) == 0 ? nil : 1 + rng.next(below: 4)
        keys[name]?.inUse.remove(c)
        if !shutDown, keys[name]?.size == nil {
            keys[name]?.size = size ?? 3
        }
        let queuedBefore = keys[name]?.queue.first
        let actions = Array(sm.release(key: name, connection: c, idleTimeout: timeout, poolSize: size))
        if shutDown {
            if actions != [.close(c)] { fail("release after shutdown: \(actions)") }
            return
        }
        if let head = queuedBefore {
            if actions != [.handOver(c, to: head)] { fail("release with waiter \(head): \(actions)") }
        } else {
            guard actions.first == .park(c, idleTimeout: timeout == .zero ? nil : timeout) else {
                fail("release did not park: \(actions)")
                return
            }
        }
        apply(actions, key: name)
        if let size = keys[name]?.size, let idle = keys[name]?.idle.count, idle > size {
            fail("idle \(idle) over size \(size) after release")
        }
    }

    mutating func idleGone(_ name: String, _ c: C, byPeer: Bool) {
        let actions =
            byPeer
            ? sm.idleConnectionClosedByPeer(key: name, connection: c)
            : sm.idleTimerFired(key: name, connection: c)
        if actions.first != .close(c) { fail("idle close of \(c): \(Array(actions))") }
        apply(actions, key: name)
    }

    mutating func staleEvent(_ name: String) {
        let before = sm.allStatistics
        let staleConnection = closedConnections.randomElement(using: &rng) ?? C(-1)
        let staleWaiter = servedWaiters.randomElement(using: &rng) ?? W(-1)
        let inUseElsewhere = keys.first { $0.key != name && !$0.value.inUse.isEmpty }?.value.inUse.first
        var actions: [SM.Action] = []
        switch rng.next(below: 8) {
        case 0: actions = Array(sm.idleTimerFired(key: name, connection: staleConnection))
        case 1: actions = Array(sm.idleConnectionClosedByPeer(key: name, connection: staleConnection))
        case 2: actions = Array(sm.closed(key: name, connection: staleConnection))
        case 3: actions = Array(sm.release(key: name, connection: staleConnection, idleTimeout: .seconds(1)))
        case 4: actions = Array(sm.waiterTimedOut(key: name, waiter: staleWaiter))
        case 5: if sm.waiterCancelled(key: name, waiter: staleWaiter) { fail("stale cancel found \(staleWaiter)") }
        case 6:
            // An in-use connection of another key, reported under this key.
            if let c = inUseElsewhere {
                actions = Array(sm.release(key: name, connection: c, idleTimeout: .seconds(1)))
                actions += Array(sm.closed(key: name, connection: c))
            }
        default:
            // An in-use connection is not idle: its (stale) timer must be ignored.
            if let c = keys[name]?.inUse.first {
                actions = Array(sm.idleTimerFired(key: name, connection: c))
                actions += Array(sm.idleConnectionClosedByPeer(key: name, connection: c))
            }
            if (keys[name]?.connecting ?? 0) == 0 {
                actions += Array(sm.connectFailed(key: name))
            }
        }
        if !actions.isEmpty { fail("stale event produced \(actions)") }
        if sm.allStatistics != before { fail("stale event changed statistics") }
    }

    mutating func shutdownEvent() {
        shutDown = true
        var expected: [SM.Action] = []
        for (name, model) in keys {
            expected += model.idle.map { .close($0) }
            expected += model.queue.map { .failWaiter($0, .shutdown) }
            keys[name]?.queue = []
        }
        let actions = sm.shutdown()
        if Set(actions) != Set(expected) || actions.count != expected.count {
            fail("shutdown: \(actions) expected \(expected)")
        }
        for action in actions {
            switch action {
            case .close(let c):
                for name in keys.keys { keys[name]?.idle.removeAll { $0 == c } }
                closedConnections.append(c)
            case .failWaiter(let w, _): outcome(w)
            default: fail("unexpected shutdown action \(action)")
            }
        }
    }

    /// Applies actions the way a shell would, checking each is allowed.
    mutating func apply<S: Sequence>(_ actions: S, key name: String) where S.Element == SM.Action {
        for action in actions {
            switch action {
            case .park(let c, _):
                if keys[name]?.idle.contains(c) == true { fail("\(c) parked twice") }
                keys[name]?.idle.append(c)
            case .close(let c):
                // Only idle connections are closed by the machine (before shutdown):
                // evicted ones must be the LRU.
                guard let index = keys[name]?.idle.firstIndex(of: c) else {
                    fail("close of non-idle \(c)")
                    continue
                }
                keys[name]?.idle.remove(at: index)
                closedConnections.append(c)
            case .handOver(let c, let w):
                if keys[name]?.queue.first != w { fail("handOver to \(w) who is not the head") }
                keys[name]?.queue.removeFirst()
                keys[name]?.inUse.insert(c)
                outcome(w)
            case .connectForWaiter(let w):
                if keys[name]?.queue.first != w { fail("connectForWaiter \(w) who is not the head") }
                keys[name]?.queue.removeFirst()
                keys[name]?.connecting += 1
                outcome(w)
            case .failWaiter(let w, let failure):
                fail("unexpected failWaiter \(w) \(failure)")
            }
        }
    }

    /// Eviction must pick the LRU: checked by comparing the machine's idle order.
    mutating func check() {
        let violations = sm.invariantViolations()
        if !violations.isEmpty { fail("invariants: \(violations)") }
        var allIdle = Set<C>()
        var allInUse = Set<C>()
        for name in Self.keyNames {
            let model = keys[name] ?? KeyModel()
            let stats = sm.statistics(for: name) ?? PoolStatistics()
            if stats.idle != model.idle.count || stats.inUse != model.inUse.count
                || stats.connecting != model.connecting || stats.waiting != model.queue.count
            {
                fail("\(name): statistics \(stats) disagree with model idle \(model.idle.count) inUse \(model.inUse.count) connecting \(model.connecting) waiting \(model.queue.count)")
            }
            if stats.size != nil && stats.size != model.size { fail("\(name): size \(String(describing: stats.size)) != model \(String(describing: model.size))") }
            if stats.backlog != model.backlog && stats.size != nil { fail("\(name): backlog changed") }
            // After shutdown nothing is limited any more (checkouts always connect).
            if let size = stats.size, let backlog = stats.backlog, name == "fixed", !shutDown {
                if stats.open > size { fail("\(name): open \(stats.open) > size \(size)") }
                if stats.waiting > backlog { fail("\(name): waiting \(stats.waiting) > backlog \(backlog)") }
            }
            for c in model.idle where !allIdle.insert(c).inserted { fail("\(c) idle twice") }
            for c in model.inUse where !allInUse.insert(c).inserted { fail("\(c) in use twice") }
            if let machineIdle = sm.idleConnections(for: name), machineIdle != model.idle {
                fail("\(name): idle order \(machineIdle) != model \(model.idle)")
            }
        }
        if !allIdle.isDisjoint(with: allInUse) { fail("a connection is both idle and handed out") }
    }
}
