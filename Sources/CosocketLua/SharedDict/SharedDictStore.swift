import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A value a shared dict holds (a list holds strings and numbers only).
public enum SharedDictValue: Equatable, Sendable {
    case string([UInt8])
    case number(Double)
    case boolean(Bool)

    /// The bytes nginx stores for it (`value_len`).
    var storedLength: Int {
        switch self {
        case .string(let bytes): return bytes.count
        case .number: return 8
        case .boolean: return 1
        }
    }
}

/// The contents of one `lua_shared_dict`, as `ngx_http_lua_shdict.c` keeps them: entries in
/// least-recently-used order, each expiring at a millisecond, memory counted by nginx's slab
/// sizes (``SlabModel``) so that the reference's evictions, `forcible` flags and `no memory`
/// failures happen at the same points. No Lua and no lock here: ``SharedDict`` serializes
/// access, and every method takes the current time so tests control the clock.
public struct SharedDictStore: Sendable {
    /// How a store call treats an existing key (`set`, `add`, `replace`, and their `safe_` forms).
    public enum StoreMode: Sendable {
        case set, add, replace
    }

    public struct StoreResult: Equatable, Sendable {
        public var ok: Bool
        public var error: String?
        public var forcible: Bool
    }

    public enum Lookup: Equatable, Sendable {
        case missing
        case found(SharedDictValue, flags: UInt32, stale: Bool)
        case list
    }

    private enum Content {
        case value(SharedDictValue)
        case list(CircularBuffer<(SharedDictValue, SlabModel.Allocation)>)
    }

    private struct Entry {
        var key: [UInt8]
        var hash: UInt64
        var content: Content
        var flags: UInt32 = 0
        /// Milliseconds since the epoch; 0 = never.
        var expires: UInt64 = 0
        var allocation: SlabModel.Allocation
        var newer = -1
        var older = -1
        /// False for a freed slot (on ``freeSlots``).
        var inUse = true

        /// A freed slot's contents: nothing to retain.
        static let free = Entry(
            key: [], hash: 0, content: .value(.boolean(false)), allocation: SlabModel.Allocation(page: 0, shift: 0, pages: 0), inUse: false)
    }

    public let size: Int
    /// FNV-1a's offset basis mixed with ``hashSeed``.
    private let seededBasis: UInt64 = 0xcbf2_9ce4_8422_2325 ^ SharedDictStore.hashSeed
    private var slab: SlabModel
    /// Entries by slot, freed ones kept as ``Entry/free`` (not optionals: a field of an
    /// optional element is read through a copy of the whole entry, a retain and a release of
    /// its key and content; the hot paths read fields in place).
    private var entries: [Entry] = []
    private var freeSlots: [Int] = []
    /// Open addressing over entry slots (-1 empty, -2 deleted), probed linearly from the
    /// key's FNV-1a hash: lookups read the caller's bytes in place, with no key copy and no
    /// seeded hasher (a Swift dictionary of byte arrays cost both on every call).
    private var table = [Int32](repeating: -1, count: 16)
    private var occupied = 0
    private var live = 0
    /// Most and least recently used entries.
    private var head = -1
    private var tail = -1

    /// A dict of `size` bytes, or `nil` when nginx could not even set one up (its zone
    /// header and the log context take the first two chunk pages): a size below 12 KiB.
    public init?(size: Int, name: String) {
        self.size = size
        slab = SlabModel(zoneSize: size)
        // ngx_http_lua_shdict_init_zone: the rbtree/LRU header, then the log context string.
        guard slab.allocate(80) != nil, slab.allocate(28 + name.utf8.count) != nil else { return nil }
    }

    public var capacity: Int { size }
    public var freeSpace: Int { slab.freePages * SlabModel.pageSize }
    public var count: Int { live }

    // MARK: Nodes and LRU

    private static func nodeSize(keyLength: Int, valueLength: Int) -> Int { 68 + keyLength + valueLength }
    private static func listHeaderSize(keyLength: Int) -> Int { (68 + keyLength + 16 + 7) & ~7 }
    private static func listItemSize(_ value: SharedDictValue) -> Int { 21 + value.storedLength }

    private mutating func unlink(_ slot: Int) {
        guard entries[slot].inUse else { return }
        let newer = entries[slot].newer, older = entries[slot].older
        if newer >= 0 { entries[newer].older = older } else { head = older }
        if older >= 0 { entries[older].newer = newer } else { tail = newer }
        entries[slot].newer = -1
        entries[slot].older = -1
    }

    private mutating func pushFront(_ slot: Int) {
        entries[slot].older = head
        entries[slot].newer = -1
        if head >= 0 { entries[head].newer = slot } else { tail = slot }
        head = slot
    }

    private mutating func touch(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func insert(_ entry: Entry) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            entries[slot] = entry
        } else {
            slot = entries.count
            entries.append(entry)
        }
        indexInsert(slot, hash: entry.hash)
        pushFront(slot)
        return slot
    }

    /// Unlinks an entry and gives back its memory (and its list items').
    private mutating func remove(_ slot: Int) {
        guard entries[slot].inUse else { return }
        let entry = entries[slot]
        unlink(slot)
        if case .list(let items) = entry.content {
            for (_, allocation) in items { slab.free(allocation) }
        }
        slab.free(entry.allocation)
        indexRemove(slot, hash: entry.hash)
        entries[slot] = .free
        freeSlots.append(slot)
    }

    private func isExpired(_ entry: Entry, now: UInt64) -> Bool {
        Self.isExpired(entry.expires, now: now)
    }

    /// ``isExpired(_:now:)`` of the entry at `slot`, read in place: binding an entry copies
    /// it, a retain and a release of its key and content each (the hot paths read fields only).
    private func isExpired(slot: Int, now: UInt64) -> Bool {
        Self.isExpired(entries[slot].expires, now: now)
    }

    /// An expiry (milliseconds, 0 = never) that has passed at `now`.
    private static func isExpired(_ expires: UInt64, now: UInt64) -> Bool {
        expires != 0 && expires <= now
    }

    /// `ngx_http_lua_shdict_lookup`: finds the key and makes it the most recently used.
    private mutating func lookup(_ key: UnsafeRawBufferPointer, now: UInt64) -> (slot: Int, expired: Bool)? {
        guard let slot = find(key, hash: hash(key)) else { return nil }
        touch(slot)
        return (slot, isExpired(slot: slot, now: now))
    }

    /// Seeds the hash per process, so keys cannot be chosen to collide.
    private static let hashSeed = UInt64.random(in: 0...UInt64.max)

    /// FNV-1a from the store's seed (copied from ``hashSeed`` at init: no lazy-global check
    /// per call), over the bytes in place.
    func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var hash = seededBasis
        guard let base = key.baseAddress else { return hash }
        var index = 0
        while index < key.count {
            hash = (hash ^ UInt64(base.load(fromByteOffset: index, as: UInt8.self))) &* 0x100_0000_01b3
            index &+= 1
        }
        return hash
    }

    private func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = Int(table[position])
            if slot == -1 { return nil }
            if slot >= 0, entries[slot].hash == hash, entries[slot].key.count == key.count,
               entries[slot].key.withUnsafeBytes({ Self.sameBytes($0, key) }) {
                return slot
            }
            position = (position + 1) & mask
        }
    }

    /// Equal lengths assumed (checked first).
    private static func sameBytes(_ stored: UnsafeRawBufferPointer, _ key: UnsafeRawBufferPointer) -> Bool {
        guard let a = stored.baseAddress, let b = key.baseAddress else { return key.isEmpty }
        return memcmp(a, b, key.count) == 0
    }

    private mutating func indexInsert(_ slot: Int, hash: UInt64) {
        if (occupied + 1) * 2 > table.count { rebuildIndex(capacity: live * 4 >= table.count ? table.count * 2 : table.count) }
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while table[position] >= 0 { position = (position + 1) & mask }
        if table[position] == -1 { occupied += 1 }
        table[position] = Int32(truncatingIfNeeded: slot)
        live += 1
    }

    private mutating func indexRemove(_ slot: Int, hash: UInt64) {
        let mask = table.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while table[position] != -1 {
            if Int(table[position]) == slot {
                table[position] = -2
                live -= 1
                return
            }
            position = (position + 1) & mask
        }
    }

    /// Rehashes the live entries (dropping deleted marks) into `capacity` buckets.
    private mutating func rebuildIndex(capacity: Int) {
        table = [Int32](repeating: -1, count: capacity)
        occupied = 0
        let mask = capacity - 1
        for (slot, entry) in entries.enumerated() {
            guard entry.inUse else { continue }
            var position = Int(truncatingIfNeeded: entry.hash) & mask
            while table[position] != -1 { position = (position + 1) & mask }
            table[position] = Int32(truncatingIfNeeded: slot)
            occupied += 1
        }
    }

    /// `ngx_http_lua_shdict_expire(ctx, n)`: with `force` false, frees up to two expired
    /// entries at the old end; with `force`, frees the oldest entry whatever it is, then up
    /// to two expired ones. Returns how many it freed.
    @discardableResult
    private mutating func expireOldest(force: Bool, now: UInt64) -> Int {
        var freed = 0
        var round = force ? 0 : 1
        while round < 3 {
            guard tail >= 0, entries[tail].inUse else { return freed }
            if round != 0 && !isExpired(slot: tail, now: now) { return freed }
            round += 1
            remove(tail)
            freed += 1
        }
        return freed
    }

    /// Allocates, evicting the oldest entries as nginx does (up to 30 rounds) unless `safe`.
    private mutating func allocate(_ size: Int, safe: Bool, now: UInt64, forcible: inout Bool) -> SlabModel.Allocation? {
        if let allocation = slab.allocate(size) { return allocation }
        if safe { return nil }
        for _ in 0..<30 {
            if expireOldest(force: true, now: now) == 0 { break }
            forcible = true
            if let allocation = slab.allocate(size) { return allocation }
        }
        return nil
    }

    private static func expiry(_ milliseconds: Int, now: UInt64) -> UInt64 {
        milliseconds > 0 ? now &+ UInt64(milliseconds) : 0
    }

    // MARK: Operations

    /// `get` (expired entries are dropped first) and `get_stale` (they are returned, marked).
    public mutating func get(_ key: UnsafeRawBufferPointer, stale allowStale: Bool = false, now: UInt64) -> Lookup {
        if !allowStale { expireOldest(force: false, now: now) }
        guard let (slot, expired) = lookup(key, now: now) else { return .missing }
        if expired && !allowStale { return .missing }
        switch entries[slot].content {
        case .value(let value): return .found(value, flags: entries[slot].flags, stale: expired)
        case .list: return .list
        }
    }

    /// `set`/`add`/`replace` (`safe`: never evict); a `nil` value deletes.
    public mutating func store(
        _ key: UnsafeRawBufferPointer, _ value: SharedDictValue?, mode: StoreMode = .set, safe: Bool = false,
        exptime milliseconds: Int = 0, flags: UInt32 = 0, now: UInt64
    ) -> StoreResult {
        if value == nil && mode != .set {
            return StoreResult(ok: false, error: "attempt to add or replace nil values", forcible: false)
        }
        expireOldest(force: false, now: now)
        let found = lookup(key, now: now)
        switch mode {
        case .replace where found == nil || found?.expired == true:
            return StoreResult(ok: false, error: "not found", forcible: false)
        case .add where found?.expired == false:
            return StoreResult(ok: false, error: "exists", forcible: false)
        default:
            break
        }
        if let (slot, _) = found, case let entry = entries[slot], entry.inUse {
            if let value, case .value(let old) = entry.content, old.storedLength == value.storedLength {
                entries[slot].content = .value(value)
                entries[slot].flags = flags
                entries[slot].expires = Self.expiry(milliseconds, now: now)
                return StoreResult(ok: true, error: nil, forcible: false)
            }
            remove(slot)
        }
        guard let value else { return StoreResult(ok: true, error: nil, forcible: false) }
        var forcible = false
        let size = Self.nodeSize(keyLength: key.count, valueLength: value.storedLength)
        guard let allocation = allocate(size, safe: safe, now: now, forcible: &forcible) else {
            return StoreResult(ok: false, error: "no memory", forcible: forcible)
        }
        _ = insert(Entry(key: Array(key), hash: hash(key), content: .value(value), flags: flags, expires: Self.expiry(milliseconds, now: now), allocation: allocation))
        return StoreResult(ok: true, error: nil, forcible: forcible)
    }

    public struct IncrResult: Equatable, Sendable {
        public var value: Double?
        public var error: String?
        public var forcible: Bool
    }

    /// `incr(key, delta, init?, init_ttl?)`: a missing (or expired) key starts at `initial`
    /// when given, with `initialTTL` milliseconds to live.
    public mutating func incr(_ key: UnsafeRawBufferPointer, by delta: Double, initial: Double? = nil, initialTTL: Int = 0, now: UInt64) -> IncrResult {
        expireOldest(force: false, now: now)
        let found = lookup(key, now: now)
        if let (slot, expired) = found, !expired, entries[slot].inUse {
            guard case .value(.number(let number)) = entries[slot].content else {
                return IncrResult(value: nil, error: "not a number", forcible: false)
            }
            let sum = number + delta
            entries[slot].content = .value(.number(sum))
            return IncrResult(value: sum, error: nil, forcible: false)
        }
        guard let initial else { return IncrResult(value: nil, error: "not found", forcible: false) }
        let sum = delta + initial
        let expires = Self.expiry(initialTTL, now: now)
        if let (slot, _) = found, case let entry = entries[slot], entry.inUse {
            if case .value(let old) = entry.content, old.storedLength == 8 {
                entries[slot].content = .value(.number(sum))
                entries[slot].flags = 0
                entries[slot].expires = expires
                return IncrResult(value: sum, error: nil, forcible: false)
            }
            remove(slot)
        }
        var forcible = false
        guard let allocation = allocate(Self.nodeSize(keyLength: key.count, valueLength: 8), safe: false, now: now, forcible: &forcible) else {
            return IncrResult(value: nil, error: "no memory", forcible: forcible)
        }
        _ = insert(Entry(key: Array(key), hash: hash(key), content: .value(.number(sum)), expires: expires, allocation: allocation))
        return IncrResult(value: sum, error: nil, forcible: forcible)
    }

    /// `lpush`/`rpush`: the list's new length, or the reference's error. Pushing never evicts.
    public mutating func push(_ key: UnsafeRawBufferPointer, _ value: SharedDictValue, front: Bool, now: UInt64) -> Result<Int, SharedDictError> {
        expireOldest(force: false, now: now)
        var slot: Int
        if let (found, expired) = lookup(key, now: now), case let entry = entries[found], entry.inUse {
            switch (entry.content, expired) {
            case (.value, false):
                return .failure(SharedDictError("value not a list"))
            case (.value, true):
                remove(found)
                guard let created = newList(key) else { return .failure(SharedDictError("no memory")) }
                slot = created
            case (.list(let items), true):
                for (_, allocation) in items { slab.free(allocation) }
                entries[found].content = .list(CircularBuffer())
                entries[found].expires = 0
                slot = found
            case (.list, false):
                slot = found
            }
        } else {
            guard let created = newList(key) else { return .failure(SharedDictError("no memory")) }
            slot = created
        }
        guard case .list(var items) = entries[slot].content else { return .failure(SharedDictError("value not a list")) }
        guard let allocation = slab.allocate(Self.listItemSize(value)) else {
            if items.isEmpty { remove(slot) }
            return .failure(SharedDictError("no memory"))
        }
        entries[slot].content = .list(CircularBuffer())  // keeps `items` uniquely referenced
        if front { items.prepend((value, allocation)) } else { items.append((value, allocation)) }
        let length = items.count
        entries[slot].content = .list(items)
        return .success(length)
    }

    private mutating func newList(_ key: UnsafeRawBufferPointer) -> Int? {
        guard let allocation = slab.allocate(Self.listHeaderSize(keyLength: key.count)) else { return nil }
        return insert(Entry(key: Array(key), hash: hash(key), content: .list(CircularBuffer()), allocation: allocation))
    }

    /// `lpop`/`rpop`: the item, `nil` for a missing key; the list goes when emptied.
    public mutating func pop(_ key: UnsafeRawBufferPointer, front: Bool, now: UInt64) -> Result<SharedDictValue?, SharedDictError> {
        expireOldest(force: false, now: now)
        guard let (slot, expired) = lookup(key, now: now), !expired, case let entry = entries[slot], entry.inUse else { return .success(nil) }
        guard case .list(var items) = entry.content else { return .failure(SharedDictError("value not a list")) }
        entries[slot].content = .list(CircularBuffer())
        guard let (value, allocation) = front ? items.popFirst() : items.popLast() else {
            remove(slot)
            return .success(nil)
        }
        slab.free(allocation)
        if items.isEmpty {
            remove(slot)
        } else {
            entries[slot].content = .list(items)
        }
        return .success(value)
    }

    /// `llen`: 0 for a missing key.
    public mutating func length(_ key: UnsafeRawBufferPointer, now: UInt64) -> Result<Int, SharedDictError> {
        expireOldest(force: false, now: now)
        guard let (slot, expired) = lookup(key, now: now), !expired, case let entry = entries[slot], entry.inUse else { return .success(0) }
        guard case .list(let items) = entry.content else { return .failure(SharedDictError("value not a list")) }
        return .success(items.count)
    }

    /// `ttl`: milliseconds left (0 = never expires, negative once expired but not yet
    /// freed), `nil` for a missing key.
    public mutating func ttl(_ key: UnsafeRawBufferPointer, now: UInt64) -> Int64? {
        guard let (slot, _) = lookup(key, now: now), case let entry = entries[slot], entry.inUse else { return nil }
        guard entry.expires != 0 else { return 0 }
        return Int64(bitPattern: entry.expires &- now)
    }

    /// `expire`: sets a new lifetime (≤ 0 = forever), also reviving an expired entry.
    public mutating func setExpire(_ key: UnsafeRawBufferPointer, milliseconds: Int, now: UInt64) -> Bool {
        guard let (slot, _) = lookup(key, now: now) else { return false }
        entries[slot].expires = Self.expiry(milliseconds, now: now)
        return true
    }

    /// `flush_all`: marks every entry expired (`get_stale` still sees them), then frees the
    /// oldest ones as a forced eviction does.
    public mutating func flushAll(now: UInt64) {
        var slot = head
        while slot >= 0 {
            entries[slot].expires = 1
            slot = entries[slot].older
        }
        expireOldest(force: true, now: now)
    }

    /// `flush_expired(max)`: frees expired entries from the oldest on; `max` 0 = all.
    public mutating func flushExpired(max: Int, now: UInt64) -> Int {
        var freed = 0
        var slot = tail
        while slot >= 0, case let entry = entries[slot], entry.inUse {
            let newer = entry.newer
            if isExpired(entry, now: now) {
                remove(slot)
                freed += 1
                if max != 0 && freed == max { break }
            }
            slot = newer
        }
        return freed
    }

    /// `get_keys(max)`: live keys from the least recently used on; `max` 0 = all.
    public func keys(max: Int, now: UInt64) -> [[UInt8]] {
        var keys: [[UInt8]] = []
        var slot = tail
        while slot >= 0, case let entry = entries[slot], entry.inUse {
            if !isExpired(entry, now: now) {
                keys.append(entry.key)
                if max != 0 && keys.count == max { break }
            }
            slot = entry.newer
        }
        return keys
    }
}

/// A shared dict operation's failure, in the reference's words.
public struct SharedDictError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
