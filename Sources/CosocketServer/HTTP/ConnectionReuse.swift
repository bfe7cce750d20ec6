/// What a worker does when a new client finds all its `worker_connections` taken: as nginx's
/// `ngx_drain_connections`, it closes the idle ones that waited longest (a client with nothing
/// sent is cheaper to lose than a new one refused), a batch at a time so that a flood of new
/// clients does not scan the table on every accept, and warns at most once a second.
struct ConnectionReuse {
    /// The tick of the last warning.
    private var warnedAtTick: Int?

    /// How many of `reusable` idle connections one drain closes: an eighth of them, at least
    /// one and at most 32, as nginx.
    static func batchSize(reusable: Int) -> Int { max(min(32, reusable / 8), 1) }

    /// The `count` items with the smallest stamps (the longest idle), oldest first.
    static func oldest<Item>(_ candidates: [(stamp: UInt64, item: Item)], count: Int) -> [Item] {
        guard count > 0 else { return [] }
        return candidates.sorted { $0.stamp < $1.stamp }.prefix(count).map(\.item)
    }

    /// Whether a drain at `tick` logs nginx's warning (once per second).
    mutating func shouldWarn(at tick: Int) -> Bool {
        guard warnedAtTick != tick else { return false }
        warnedAtTick = tick
        return true
    }
}
