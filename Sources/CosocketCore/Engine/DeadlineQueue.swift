import NIOCore

/// An object that can wait in a ``DeadlineQueue``; it stores its own position so that
/// removing it is O(log n) without a search.
protocol DeadlineQueueMember: AnyObject {
    /// Its index in the queue's heap, or -1 when not queued (maintained by the queue).
    var deadlineQueueSlot: Int { get set }
}

/// A binary min-heap of (deadline, member), indexed by the members themselves.
///
/// The engine keeps every socket timeout here and one NIO timer for the earliest, instead of
/// a scheduled task per socket: arming and disarming are an array operation each, with no
/// allocation and no promise, which profiles showed costing several thousand instructions
/// per request.
struct DeadlineQueue<Member: DeadlineQueueMember> {
    private typealias Entry = (deadline: NIODeadline, member: Member)
    private var heap: [Entry] = []

    init() {}

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The earliest deadline.
    var first: NIODeadline? { heap.first?.deadline }

    func deadline(of member: Member) -> NIODeadline? {
        let slot = member.deadlineQueueSlot
        return slot >= 0 && slot < heap.count && heap[slot].member === member ? heap[slot].deadline : nil
    }

    /// Queues `member` at `deadline`, or moves it there if already queued.
    mutating func insert(_ member: Member, at deadline: NIODeadline) {
        if self.deadline(of: member) != nil {
            let slot = member.deadlineQueueSlot
            heap.withUnsafeMutableBufferPointer { heap in
                heap[slot].deadline = deadline
                Self.siftUp(heap, Self.siftDown(heap, slot))
            }
            return
        }
        heap.append((deadline, member))
        member.deadlineQueueSlot = heap.count - 1
        heap.withUnsafeMutableBufferPointer { heap in Self.siftUp(heap, heap.count - 1) }
    }

    /// Takes `member` out; nothing if it is not queued.
    mutating func remove(_ member: Member) {
        guard deadline(of: member) != nil else { return }
        let slot = member.deadlineQueueSlot
        let last = heap.count - 1
        if slot != last {
            heap.withUnsafeMutableBufferPointer { heap in Self.swap(heap, slot, last) }
        }
        member.deadlineQueueSlot = -1
        heap.removeLast()
        if slot < heap.count {
            heap.withUnsafeMutableBufferPointer { heap in Self.siftUp(heap, Self.siftDown(heap, slot)) }
        }
    }

    /// Takes out the earliest member if its deadline is at or before `now`.
    mutating func popDue(at now: NIODeadline) -> Member? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        remove(first.member)
        return first.member
    }

    // The heap is reordered through a buffer pointer: its swaps move entries without the
    // retain, release and uniqueness check that each `Array.swapAt` costs (half of a removal).

    @discardableResult
    private static func siftUp(_ heap: UnsafeMutableBufferPointer<Entry>, _ start: Int) -> Int {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard heap[index].deadline < heap[parent].deadline else { break }
            swap(heap, index, parent)
            index = parent
        }
        return index
    }

    private static func siftDown(_ heap: UnsafeMutableBufferPointer<Entry>, _ start: Int) -> Int {
        var index = start
        while true {
            let left = 2 * index + 1
            guard left < heap.count else { return index }
            let right = left + 1
            let smaller = right < heap.count && heap[right].deadline < heap[left].deadline ? right : left
            guard heap[smaller].deadline < heap[index].deadline else { return index }
            swap(heap, index, smaller)
            index = smaller
        }
    }

    /// Swaps two entries and tells both members where they are now.
    private static func swap(_ heap: UnsafeMutableBufferPointer<Entry>, _ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        heap[a].member.deadlineQueueSlot = a
        heap[b].member.deadlineQueueSlot = b
    }
}
