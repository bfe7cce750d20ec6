import CosocketTestSupport
import Testing

@testable import CosocketCore

/// The pools' in-use set against `Set`, across its switch from array to set and back.
@Suite struct SmallSetTests {
    @Test func switchesToASetPastItsLimitAndBackOnceEmpty() {
        var set = SmallSet<Int>()
        let limit = SmallSet<Int>.arrayLimit
        for member in 0..<limit {
            let inserted = set.insert(member)
            #expect(inserted)
        }
        var inserted = set.insert(0)
        #expect(!inserted)
        inserted = set.insert(limit)  // the switch
        #expect(inserted)
        #expect(set.count == limit + 1)
        inserted = set.insert(limit)
        #expect(!inserted)
        #expect(Set(set.members) == Set(0...limit))
        for member in 0...limit {
            let removed = set.remove(member)
            #expect(removed)
        }
        #expect(set.isEmpty)
        let removed = set.remove(0)
        #expect(!removed)
        inserted = set.insert(7)
        #expect(inserted)
        #expect(set.members == [7])
    }

    @Test(arguments: [1, 2, 3])
    func matchesModelUnderRandomOperations(seed: UInt64) {
        var generator = SplitMix(seed: seed)
        var set = SmallSet<Int>()
        var model = Set<Int>()
        // Members drawn from 0..<48, so counts cross the array limit (16) both ways.
        for step in 0..<20_000 {
            let member = Int(generator.next() % 48)
            // Phases that mostly insert, then mostly remove.
            let inserting = (step / 500) % 2 == 0 ? generator.next() % 4 != 0 : generator.next() % 4 == 0
            if inserting {
                let inserted = set.insert(member)
                #expect(inserted == model.insert(member).inserted)
            } else {
                let removed = set.remove(member)
                #expect(removed == (model.remove(member) != nil))
            }
            #expect(set.count == model.count)
            #expect(set.contains(member) == model.contains(member))
        }
        #expect(Set(set.members) == model)
        #expect(set.members.count == model.count)
    }
}
