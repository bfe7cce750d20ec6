/// A tiny growable ring buffer (double-ended queue) used by the pool state machine.
///
/// Why not `Array`: the waiter queue is FIFO (append at the back, serve from the
/// front) and the idle list is evicted from its LRU front while reused from its MRU
/// back; `Array.removeFirst()` would shift every element on each of those events.
/// Why not swift-collections' `Deque`: the core module takes no dependency for this.
///
/// Storage grows by doubling (power-of-two capacity, so indexing is a mask) and
/// never shrinks, so a pool that reached its working size stops allocating.
/// Removal from the middle (a waiter timing out, an idle connection closed by its
/// peer) shifts the shorter side, O(min(i, count - i)).
struct PoolRing<Element> {
    private var storage: ContiguousArray<Element?>
    /// Physical index of the logical first element.
    private var head: Int
    /// Number of live elements.
    private(set) var count: Int

    init() {
        self.storage = []
        self.head = 0
        self.count = 0
    }

    var isEmpty: Bool { count == 0 }

    private var mask: Int { storage.count &- 1 }

    @inline(__always)
    private func physical(_ logical: Int) -> Int {
        (head &+ logical) & mask
    }

    /// The element at logical position `index` (0 = front); nil when out of range.
    func element(at index: Int) -> Element? {
        guard index >= 0 && index < count else { return nil }
        return storage[physical(index)]
    }

    var first: Element? { count == 0 ? nil : storage[head] }
    var last: Element? { count == 0 ? nil : storage[physical(count &- 1)] }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[physical(count)] = element
        count &+= 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head &+ 1) & mask
        count &-= 1
        if count == 0 { head = 0 }
        return element
    }

    mutating func popLast() -> Element? {
        guard count > 0 else { return nil }
        let slot = physical(count &- 1)
        let element = storage[slot]
        storage[slot] = nil
        count &-= 1
        if count == 0 { head = 0 }
        return element
    }

    /// Removes and returns the element at logical position `index`; nil if out of range.
    @discardableResult
    mutating func remove(at index: Int) -> Element? {
        guard index >= 0 && index < count else { return nil }
        if index == 0 { return popFirst() }
        if index == count &- 1 { return popLast() }
        let element = storage[physical(index)]
        if index < count / 2 {
            // Shift the front part one slot towards the back, then advance head.
            var i = index
            while i > 0 {
                storage[physical(i)] = storage[physical(i &- 1)]
                i &-= 1
            }
            storage[head] = nil
            head = (head &+ 1) & mask
        } else {
            // Shift the back part one slot towards the front.
            var i = index
            while i < count &- 1 {
                storage[physical(i)] = storage[physical(i &+ 1)]
                i &+= 1
            }
            storage[physical(count &- 1)] = nil
        }
        count &-= 1
        return element
    }

    /// Logical index of the first element (from the front) satisfying `predicate`.
    func firstIndex(where predicate: (Element) throws -> Bool) rethrows -> Int? {
        var i = 0
        while i < count {
            if let element = storage[physical(i)], try predicate(element) { return i }
            i &+= 1
        }
        return nil
    }

    /// Empties the ring, keeping its capacity.
    mutating func removeAll() {
        var i = 0
        while i < count {
            storage[physical(i)] = nil
            i &+= 1
        }
        head = 0
        count = 0
    }

    private mutating func grow() {
        let newCapacity = Swift.max(4, storage.count &* 2)
        var newStorage = ContiguousArray<Element?>(repeating: nil, count: newCapacity)
        var i = 0
        while i < count {
            newStorage[i] = storage[physical(i)]
            i &+= 1
        }
        storage = newStorage
        head = 0
    }
}

extension PoolRing where Element: Equatable {
    func firstIndex(of element: Element) -> Int? {
        firstIndex(where: { $0 == element })
    }
}

extension PoolRing: Sequence {
    struct Iterator: IteratorProtocol {
        fileprivate let ring: PoolRing
        fileprivate var index: Int

        mutating func next() -> Element? {
            guard let element = ring.element(at: index) else { return nil }
            index &+= 1
            return element
        }
    }

    /// Iterates front (oldest / LRU) to back (newest / MRU).
    func makeIterator() -> Iterator { Iterator(ring: self, index: 0) }

    var underestimatedCount: Int { count }
}

extension PoolRing: Sendable where Element: Sendable {}
