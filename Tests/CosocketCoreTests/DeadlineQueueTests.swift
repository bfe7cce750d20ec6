import CosocketTestSupport
import NIOCore
import Testing

@testable import CosocketCore

/// The engine's timeout heap against a plain dictionary model, under random operations.
@Suite struct DeadlineQueueTests {
    final class Member: DeadlineQueueMember {
        var deadlineQueueSlot = -1
        let id: Int
        init(_ id: Int) { self.id = id }
    }

    @Test func popsInDeadlineOrderAndForgetsRemovedMembers() {
        var queue = DeadlineQueue<Member>()
        let members = (0..<5).map(Member.init)
        for (member, offset) in zip(members, [30, 10, 50, 20, 40]) {
            queue.insert(member, at: .uptimeNanoseconds(UInt64(offset)))
        }
        queue.remove(members[3])
        #expect(members[3].deadlineQueueSlot == -1)
        #expect(queue.deadline(of: members[3]) == nil)
        queue.insert(members[2], at: .uptimeNanoseconds(5))  // moved earlier
        var order: [Int] = []
        while let member = queue.popDue(at: .uptimeNanoseconds(100)) { order.append(member.id) }
        #expect(order == [2, 1, 0, 4])
        #expect(queue.isEmpty)
    }

    @Test func nothingIsDueBeforeItsDeadline() {
        var queue = DeadlineQueue<Member>()
        let member = Member(1)
        queue.insert(member, at: .uptimeNanoseconds(1_000))
        #expect(queue.popDue(at: .uptimeNanoseconds(999)) == nil)
        #expect(queue.popDue(at: .uptimeNanoseconds(1_000)) === member)
    }

    @Test(arguments: [1, 2, 3, 4])
    func matchesModelUnderRandomOperations(seed: UInt64) {
        var generator = SplitMix(seed: seed)
        var queue = DeadlineQueue<Member>()
        var model: [Int: UInt64] = [:]
        let members = (0..<40).map(Member.init)
        for _ in 0..<5_000 {
            let member = members[Int(generator.next() % 40)]
            switch generator.next() % 4 {
            case 0, 1:
                let deadline = generator.next() % 1_000
                queue.insert(member, at: .uptimeNanoseconds(deadline))
                model[member.id] = deadline
            case 2:
                queue.remove(member)
                model[member.id] = nil
            default:
                let now = generator.next() % 1_000
                while let due = queue.popDue(at: .uptimeNanoseconds(now)) {
                    #expect(model[due.id].map { $0 <= now } == true)
                    model[due.id] = nil
                }
                #expect(model.values.allSatisfy { $0 > now })
            }
            #expect(queue.count == model.count)
            #expect(queue.first == model.values.min().map { .uptimeNanoseconds($0) })
            #expect(queue.deadline(of: member) == model[member.id].map { .uptimeNanoseconds($0) })
        }
    }
}
