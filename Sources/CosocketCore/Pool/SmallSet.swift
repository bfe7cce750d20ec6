/// A set that is an unordered array while it is small and a `Set` once it grows.
///
/// A pool key's in-use connections are usually a handful: a linear scan of a few
/// identities costs a few dozen instructions, where `Set` hashes every member with SipHash
/// (about 300 instructions per checkout and 600 per release, on every pooled request).
/// Past `arrayLimit` members it switches to a `Set`, so that a pool with thousands of
/// connections in use stays O(1) per event; it switches back once empty.
struct SmallSet<Element: Hashable> {
    static var arrayLimit: Int { 16 }

    private var few: [Element] = []
    private var many: Set<Element>?

    init() {}

    var count: Int { many?.count ?? few.count }
    var isEmpty: Bool { count == 0 }

    func contains(_ element: Element) -> Bool {
        if let many { return many.contains(element) }
        return few.contains(element)
    }

    /// Adds `element`; `false` when it was a member already.
    @discardableResult
    mutating func insert(_ element: Element) -> Bool {
        if many != nil { return many!.insert(element).inserted }
        if few.contains(element) { return false }
        if few.count < Self.arrayLimit {
            if few.capacity == 0 { few.reserveCapacity(4) }
            few.append(element)
        } else {
            var set = Set(few)
            set.insert(element)
            many = set
            few.removeAll(keepingCapacity: true)
        }
        return true
    }

    /// Removes `element`; `false` when it was not a member.
    @discardableResult
    mutating func remove(_ element: Element) -> Bool {
        if many != nil {
            guard many!.remove(element) != nil else { return false }
            if many!.isEmpty { many = nil }
            return true
        }
        guard let index = few.firstIndex(of: element) else { return false }
        few.swapAt(index, few.count - 1)
        few.removeLast()
        return true
    }

    /// The members, in no particular order.
    var members: [Element] { many.map(Array.init) ?? few }
}

extension SmallSet: Sendable where Element: Sendable {}
