import CosocketTestSupport
import NIOCore
import Testing

@testable import CosocketCore

/// The order a connect tries a name's addresses in and each attempt's share of the timeout:
/// RFC 8305's interleaving, the reference's single random pick with fallback off, and the
/// clock arithmetic, on values only (no sockets, no clock).
@Suite struct ConnectAttemptsTests {
    typealias Family = ConnectAttempts.Family
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func order(_ text: String) -> [Int] {
        ConnectAttempts(families: text.map { $0 == "4" ? .v4 : .v6 }, fallback: true, pick: 0, deadline: start).order
    }

    @Test func interleavesTheFamiliesLeadByTheFirst() {
        #expect(order("") == [])
        #expect(order("4") == [0])
        #expect(order("6") == [0])
        #expect(order("44") == [0, 1])
        #expect(order("4466") == [0, 2, 1, 3])
        #expect(order("6644") == [0, 2, 1, 3])
        #expect(order("4646") == [0, 1, 2, 3])
        #expect(order("6444") == [0, 1, 2, 3])
        #expect(order("4446") == [0, 3, 1, 2])
        #expect(order("46666") == [0, 1, 2, 3, 4])
        #expect(order("64") == [0, 1])
        #expect(order("446446") == [0, 2, 1, 5, 3, 4])
    }

    /// Over every family sequence up to 8 long: a permutation, led by the first address,
    /// each family in the answer's order, alternating until one family runs out.
    @Test func everyOrderHasRFC8305Shape() {
        for length in 0...8 {
            for bits in 0..<(1 << length) {
                let families: [Family] = (0..<length).map { bits & (1 << $0) != 0 ? .v6 : .v4 }
                let order = ConnectAttempts(families: families, fallback: true, pick: 0, deadline: start).order
                #expect(order.sorted() == Array(0..<length))
                if let first = order.first { #expect(first == 0) }
                for family in [Family.v4, .v6] {
                    let mine = order.filter { families[$0] == family }
                    #expect(mine == mine.sorted())
                }
                let sequence = order.map { families[$0] }
                let lead = families.first.map { first in families.filter { $0 == first }.count } ?? 0
                let other = length - lead
                let alternating = lead > other ? 2 * other + 1 : 2 * lead
                for index in 1..<max(alternating, 1) { #expect(sequence[index] != sequence[index - 1], "\(families)") }
                #expect(Set(sequence.dropFirst(alternating)).count <= 1)
            }
        }
    }

    @Test func fallbackOffTriesOnePickedAddress() {
        let families: [Family] = [.v4, .v4, .v6]
        for pick in [0, 1, 2, 3, 7, -1, -5, Int.max, Int.min] {
            var plan = ConnectAttempts(families: families, fallback: false, pick: pick, deadline: start + .seconds(3))
            #expect(plan.order.count == 1)
            #expect(plan.order[0] == Int(pick.magnitude % 3))
            #expect(plan.remaining == 1)
            // The only attempt has the whole timeout, and its failure is the connect's.
            #expect(plan.attemptDeadline(now: start) == start + .seconds(3))
            #expect(plan.attemptFailed(now: start) == .giveUp)
        }
        #expect(ConnectAttempts(families: [], fallback: false, pick: 4, deadline: start).order == [])
    }

    @Test func eachAttemptHasItsShareOfTheTimeLeft() {
        var plan = ConnectAttempts(families: [.v4, .v4, .v4], fallback: true, pick: 0, deadline: start + .seconds(3))
        #expect(plan.current == 0)
        #expect(plan.remaining == 3)
        #expect(plan.attemptDeadline(now: start) == start + .seconds(1))
        // The first ran out of its share: the second has half of the two seconds left.
        #expect(plan.attemptFailed(now: start + .seconds(1)) == .attempt(1))
        #expect(plan.attemptDeadline(now: start + .seconds(1)) == start + .seconds(2))
        // The second was refused at once: the last has all the rest.
        #expect(plan.attemptFailed(now: start + .milliseconds(1100)) == .attempt(2))
        #expect(plan.remaining == 1)
        #expect(plan.attemptDeadline(now: start + .milliseconds(1100)) == start + .seconds(3))
        #expect(plan.attemptFailed(now: start + .seconds(2)) == .giveUp)
        #expect(plan.current == nil)
        #expect(plan.remaining == 0)
        #expect(plan.attemptFailed(now: start + .seconds(2)) == .giveUp)
        #expect(plan.remaining == 0)
    }

    @Test func aRefusalMovesOnAndTheSharesGrow() {
        var plan = ConnectAttempts(families: [.v6, .v4, .v6, .v4], fallback: true, pick: 0, deadline: start + .seconds(4))
        #expect(plan.order == [0, 1, 2, 3])
        #expect(plan.attemptDeadline(now: start) == start + .seconds(1))
        #expect(plan.attemptFailed(now: start) == .attempt(1))
        #expect(plan.attemptDeadline(now: start) == start + .milliseconds(1333) + .nanoseconds(333_333))
    }

    @Test func noTimeLeftGivesUp() {
        var plan = ConnectAttempts(families: [.v4, .v6], fallback: true, pick: 0, deadline: start + .seconds(1))
        // Past the deadline, an attempt's deadline is the connect's (it fires at once).
        #expect(plan.attemptDeadline(now: start + .seconds(2)) == start + .seconds(1))
        #expect(plan.attemptFailed(now: start + .seconds(1)) == .giveUp)
        var late = ConnectAttempts(families: [.v4, .v6], fallback: true, pick: 0, deadline: start)
        #expect(late.attemptDeadline(now: start) == start)
        #expect(late.attemptFailed(now: start) == .giveUp)
    }

    @Test func familiesOfAddresses() throws {
        #expect(Family(try SocketAddress(ipAddress: "127.0.0.1", port: 1)) == .v4)
        #expect(Family(try SocketAddress(ipAddress: "::1", port: 1)) == .v6)
        #expect(Family(try SocketAddress(ipAddress: "::ffff:127.0.0.1", port: 1)) == .v6)
        #expect(Family(try SocketAddress(unixDomainSocketPath: "/tmp/x")) == .other)
    }

    /// The state machine's side: moving on keeps the attempt (and its generation) and drops
    /// the given-up address's deadline, so that it cannot time the next address out.
    @Test func movingOnKeepsTheAttemptAndDropsItsDeadline() {
        var machine = StreamSocketStateMachine()
        machine.connectStarted()
        let generation = machine.generation
        let armed = machine.connectInProgress(until: start + .seconds(1))
        #expect(armed == start + .seconds(1))
        machine.connectMovedOn()
        #expect(machine.deadlines.deadline(.connect) == nil)
        #expect(machine.phase == .opening)
        #expect(machine.isCurrentAttempt(generation))
        // The next address's deadline: the entry is armed for the earlier one already and
        // fires early, finding this one not due.
        let rearmed = machine.connectInProgress(until: start + .seconds(2))
        #expect(rearmed == nil)
        #expect(machine.deadlines.deadline(.connect) == start + .seconds(2))
        let failed = machine.connectFailed(generation: generation)
        #expect(failed)
        #expect(machine.deadlines.deadline(.connect) == nil)
        #expect(!machine.isCurrentAttempt(generation))
    }
}
