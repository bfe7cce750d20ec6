import Testing

import CosocketTestSupport

@testable import CosocketLua

/// The shared dict store and its slab model, on a clock the tests set.
@Suite struct SharedDictStoreTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Lets `#expect` call the store's mutating methods.
    final class Box {
        var store: SharedDictStore
        init(_ store: SharedDictStore) { self.store = store }
    }

    static func make(_ size: Int = 1 << 20) -> SharedDictStore {
        SharedDictStore(size: size, name: "d")!
    }

    @Test func zoneSizesGiveNginxsPageCountsAndFreeSpace() {
        // Checked against the reference's free_space() on empty dicts.
        #expect(Self.make(1 << 20).freeSpace == 1_032_192)
        #expect(SharedDictStore(size: 102_400, name: "abcdefghij")!.freeSpace == 90112)
        #expect(Self.make(20 * 1024).freeSpace == 8192)
        #expect(Self.make(12 * 1024).freeSpace == 0)
        // 8 KiB and 10000 bytes cannot hold the zone header: nginx fails to start.
        #expect(SharedDictStore(size: 8192, name: "d") == nil)
        #expect(SharedDictStore(size: 10000, name: "d") == nil)
        #expect(SharedDictStore(size: 0, name: "d") == nil)
    }

    @Test func slabChunksRoundToPowersOfTwoAndPagesReturnWhenEmpty() {
        var slab = SlabModel(zoneSize: 1 << 20)
        let total = slab.freePages
        #expect(SlabModel.chunksPerPage(3) == 504)
        #expect(SlabModel.chunksPerPage(4) == 254)
        #expect(SlabModel.chunksPerPage(5) == 127)
        #expect(SlabModel.chunksPerPage(6) == 64)
        #expect(SlabModel.chunksPerPage(11) == 2)
        var chunks: [SlabModel.Allocation] = []
        for _ in 0..<64 { chunks.append(slab.allocate(33)!) }  // 64-byte chunks: one page
        #expect(slab.freePages == total - 1)
        chunks.append(slab.allocate(64)!)
        #expect(slab.freePages == total - 2)
        for chunk in chunks { slab.free(chunk) }
        #expect(slab.freePages == total)
        let run = slab.allocate(2049)!  // above half a page: a whole page
        #expect(run.pages == 1 && slab.freePages == total - 1)
        let big = slab.allocate(4097)!
        #expect(big.pages == 2 && slab.freePages == total - 3)
        slab.free(run)
        slab.free(big)
        #expect(slab.freePages == total)
        #expect(slab.allocate(total * 4096 + 1) == nil)
        #expect(slab.allocate(total * 4096) != nil)
        #expect(slab.allocate(8) == nil)
    }

    @Test func valuesOfEveryTypeWithFlags() {
        let d = Box(Self.make())
        for (name, value) in [("s", SharedDictValue.string(Self.bytes("hi"))), ("n", .number(2.5)), ("b", .boolean(false)), ("e", .string([]))] {
            #expect(d.store.store(Self.bytes(name), value, flags: 7, now: 1000).ok)
            #expect(d.store.get(Self.bytes(name), now: 1000) == .found(value, flags: 7, stale: false))
        }
        #expect(d.store.get(Self.bytes("x"), now: 1000) == .missing)
        #expect(d.store.store(Self.bytes("s"), nil, now: 1000).ok)
        #expect(d.store.get(Self.bytes("s"), now: 1000) == .missing)
        #expect(d.store.store(Self.bytes("s"), nil, now: 1000) == .init(ok: true, error: nil, forcible: false))
        #expect(d.store.count == 3)
    }

    @Test func addReplaceAndNilValues() {
        let d = Box(Self.make())
        let key = Self.bytes("k")
        #expect(d.store.store(key, .number(1), mode: .replace, now: 0) == .init(ok: false, error: "not found", forcible: false))
        #expect(d.store.store(key, .number(1), mode: .add, now: 0).ok)
        #expect(d.store.store(key, .number(2), mode: .add, now: 0) == .init(ok: false, error: "exists", forcible: false))
        #expect(d.store.store(key, .string(Self.bytes("longer value")), mode: .replace, now: 0).ok)
        #expect(d.store.store(key, nil, mode: .add, now: 0).error == "attempt to add or replace nil values")
        #expect(d.store.store(key, nil, mode: .replace, now: 0).error == "attempt to add or replace nil values")
        // An expired entry counts as absent for add and replace.
        #expect(d.store.store(key, .number(1), exptime: 10, now: 0).ok)
        #expect(d.store.store(key, .number(2), mode: .replace, now: 10).error == "not found")
        #expect(d.store.store(key, .number(3), mode: .add, now: 10).ok)
        #expect(d.store.get(key, now: 10) == .found(.number(3), flags: 0, stale: false))
    }

    @Test func expiryToTheMillisecondAndStaleReads() {
        let d = Box(Self.make())
        let key = Self.bytes("k")
        #expect(d.store.store(key, .string(Self.bytes("v")), exptime: 5, flags: 3, now: 100).ok)
        #expect(d.store.ttl(key, now: 100) == 5)
        #expect(d.store.get(key, now: 104) == .found(.string(Self.bytes("v")), flags: 3, stale: false))
        #expect(d.store.get(key, stale: true, now: 105) == .found(.string(Self.bytes("v")), flags: 3, stale: true))
        #expect(d.store.ttl(key, now: 107) == -2)
        #expect(d.store.setExpire(key, milliseconds: 50, now: 110) == true)  // revives it
        #expect(d.store.get(key, now: 110) != .missing)
        #expect(d.store.get(key, now: 160) == .missing)  // and a plain get frees it once expired
        #expect(d.store.count == 0)
        #expect(d.store.store(key, .number(1), now: 160).ok)
        #expect(d.store.setExpire(key, milliseconds: -1, now: 110) == true)
        #expect(d.store.ttl(key, now: 1_000_000) == 0)
        #expect(d.store.ttl(Self.bytes("none"), now: 0) == nil)
        #expect(d.store.setExpire(Self.bytes("none"), milliseconds: 1, now: 0) == false)
    }

    @Test func incrWithInitAndInitTTL() {
        let d = Box(Self.make())
        let key = Self.bytes("n")
        #expect(d.store.incr(key, by: 1, now: 0) == .init(value: nil, error: "not found", forcible: false))
        #expect(d.store.incr(key, by: 1, initial: 10, initialTTL: 100, now: 0).value == 11)
        #expect(d.store.incr(key, by: 2, initial: 10, now: 50).value == 13)
        #expect(d.store.ttl(key, now: 50) == 50)  // incr of an existing key keeps its expiry
        #expect(d.store.incr(key, by: 1, initial: 0, now: 100).value == 1)  // expired: starts again
        #expect(d.store.ttl(key, now: 100) == 0)
        _ = d.store.store(Self.bytes("s"), .string(Self.bytes("x")), now: 0)
        #expect(d.store.incr(Self.bytes("s"), by: 1, initial: 0, now: 0).error == "not a number")
        #expect(d.store.incr(key, by: .nan, now: 0).value?.isNaN == true)
    }

    @Test func listsPushPopAndTypeErrors() {
        let d = Box(Self.make())
        let key = Self.bytes("L")
        #expect(d.store.push(key, .number(1), front: true, now: 0) == .success(1))
        #expect(d.store.push(key, .string(Self.bytes("b")), front: false, now: 0) == .success(2))
        #expect(d.store.push(key, .string(Self.bytes("a")), front: true, now: 0) == .success(3))
        #expect(d.store.get(key, now: 0) == .list)
        #expect(d.store.incr(key, by: 1, now: 0).error == "not a number")
        #expect(d.store.length(key, now: 0) == .success(3))
        #expect(d.store.pop(key, front: true, now: 0) == .success(.string(Self.bytes("a"))))
        #expect(d.store.pop(key, front: false, now: 0) == .success(.string(Self.bytes("b"))))
        #expect(d.store.pop(key, front: false, now: 0) == .success(.number(1)))
        #expect(d.store.pop(key, front: false, now: 0) == .success(nil))
        #expect(d.store.count == 0)
        _ = d.store.store(Self.bytes("v"), .number(1), now: 0)
        #expect(d.store.push(Self.bytes("v"), .number(1), front: true, now: 0) == .failure(SharedDictError("value not a list")))
        #expect(d.store.pop(Self.bytes("v"), front: true, now: 0) == .failure(SharedDictError("value not a list")))
        #expect(d.store.length(Self.bytes("v"), now: 0) == .failure(SharedDictError("value not a list")))
        #expect(d.store.length(Self.bytes("none"), now: 0) == .success(0))
    }

    @Test func fullDictEvictsTheLeastRecentlyUsedAndSafeStoresRefuse() {
        let d = Box(Self.make(20 * 1024))  // two free pages: 32 entries of 100 bytes (256-byte chunks)
        let value = SharedDictValue.string(Array(repeating: 0x76, count: 100))
        for index in 0..<32 {
            #expect(d.store.store(Self.bytes("key\(index)"), value, now: 0) == .init(ok: true, error: nil, forcible: false))
        }
        #expect(d.store.freeSpace == 0)
        _ = d.store.get(Self.bytes("key0"), now: 0)  // most recently used now
        #expect(d.store.store(Self.bytes("safe"), value, safe: true, now: 0) == .init(ok: false, error: "no memory", forcible: false))
        #expect(d.store.store(Self.bytes("new"), value, now: 0) == .init(ok: true, error: nil, forcible: true))
        #expect(d.store.get(Self.bytes("key1"), now: 0) == .missing)
        #expect(d.store.get(Self.bytes("key0"), now: 0) != .missing)
        #expect(d.store.keys(max: 0, now: 0).count == 32)
        // A value larger than the dict evicts (up to 30 rounds) and still fails.
        let huge = SharedDictValue.string(Array(repeating: 0, count: 20 * 1024))
        #expect(d.store.store(Self.bytes("huge"), huge, now: 0) == .init(ok: false, error: "no memory", forcible: true))
        #expect(d.store.count == 2)
    }

    @Test func flushAllMarksExpiredAndFlushExpiredFrees() {
        let d = Box(Self.make())
        for index in 1...5 { _ = d.store.store(Self.bytes("k\(index)"), .number(Double(index)), now: 100) }
        #expect(d.store.keys(max: 0, now: 100) == (1...5).map { Self.bytes("k\($0)") })
        #expect(d.store.keys(max: 2, now: 100).count == 2)
        d.store.flushAll(now: 100)  // also frees the three oldest
        #expect(d.store.count == 2)
        #expect(d.store.keys(max: 0, now: 100).isEmpty)
        #expect(d.store.get(Self.bytes("k5"), stale: true, now: 100) == .found(.number(5), flags: 0, stale: true))
        #expect(d.store.flushExpired(max: 1, now: 100) == 1)
        #expect(d.store.flushExpired(max: 0, now: 100) == 1)
        #expect(d.store.count == 0)
        #expect(d.store.freeSpace == Self.make().freeSpace)
    }

    @Test func manyKeysSurviveTheIndexGrowingAndDeletions() {
        let d = Box(Self.make(16 << 20))
        for index in 0..<10000 { #expect(d.store.store(Self.bytes("key\(index)"), .number(Double(index)), now: 10).ok) }
        for index in stride(from: 0, to: 10000, by: 2) { #expect(d.store.store(Self.bytes("key\(index)"), nil, now: 10).ok) }
        for round in 0..<3 {  // deleted marks pile up and are rebuilt away
            for index in 0..<2000 { _ = d.store.store(Self.bytes("tmp\(round)-\(index)"), .number(1), now: 10) }
            for index in 0..<2000 { _ = d.store.store(Self.bytes("tmp\(round)-\(index)"), nil, now: 10) }
        }
        #expect(d.store.count == 5000)
        var wrong = 0
        for index in 0..<10000 {
            let expected: SharedDictStore.Lookup = index % 2 == 0 ? .missing : .found(.number(Double(index)), flags: 0, stale: false)
            if d.store.get(Self.bytes("key\(index)"), now: 10) != expected { wrong += 1 }
        }
        #expect(wrong == 0)
    }

    @Test func everyOperationLeavesMemoryConsistent() {
        // Random operations, then everything deleted: all pages must be free again.
        let d = Box(Self.make(64 * 1024))
        let empty = d.store.freeSpace
        var random = SplitMix(seed: 17)
        for _ in 0..<20000 {
            let key = Self.bytes("k\(random.next() % 200)")
            let size = Int(random.next() % 3000)
            switch random.next() % 6 {
            case 0: _ = d.store.store(key, .string(Array(repeating: 1, count: size)), exptime: Int(random.next() % 3), now: 10 + random.next() % 4)
            case 1: _ = d.store.incr(key, by: 1, initial: 0, now: 10)
            case 2: _ = d.store.push(key, .string(Array(repeating: 2, count: size % 100)), front: random.next() % 2 == 0, now: 10)
            case 3: _ = d.store.pop(key, front: true, now: 10)
            case 4: _ = d.store.store(key, nil, now: 10)
            default: d.store.flushAll(now: 10)
            }
        }
        d.store.flushAll(now: 10)
        _ = d.store.flushExpired(max: 0, now: 10)
        #expect(d.store.count == 0)
        #expect(d.store.freeSpace == empty)
    }
}

/// The store's operations on byte arrays, for the tests.
extension SharedDictStore {
    mutating func get(_ key: [UInt8], stale: Bool = false, now: UInt64) -> Lookup {
        key.withUnsafeBytes { get($0, stale: stale, now: now) }
    }
    mutating func store(_ key: [UInt8], _ value: SharedDictValue?, mode: StoreMode = .set, safe: Bool = false,
                        exptime: Int = 0, flags: UInt32 = 0, now: UInt64) -> StoreResult {
        key.withUnsafeBytes { store($0, value, mode: mode, safe: safe, exptime: exptime, flags: flags, now: now) }
    }
    mutating func incr(_ key: [UInt8], by delta: Double, initial: Double? = nil, initialTTL: Int = 0, now: UInt64) -> IncrResult {
        key.withUnsafeBytes { incr($0, by: delta, initial: initial, initialTTL: initialTTL, now: now) }
    }
    mutating func push(_ key: [UInt8], _ value: SharedDictValue, front: Bool, now: UInt64) -> Result<Int, SharedDictError> {
        key.withUnsafeBytes { push($0, value, front: front, now: now) }
    }
    mutating func pop(_ key: [UInt8], front: Bool, now: UInt64) -> Result<SharedDictValue?, SharedDictError> {
        key.withUnsafeBytes { pop($0, front: front, now: now) }
    }
    mutating func length(_ key: [UInt8], now: UInt64) -> Result<Int, SharedDictError> {
        key.withUnsafeBytes { length($0, now: now) }
    }
    mutating func ttl(_ key: [UInt8], now: UInt64) -> Int64? { key.withUnsafeBytes { ttl($0, now: now) } }
    mutating func setExpire(_ key: [UInt8], milliseconds: Int, now: UInt64) -> Bool {
        key.withUnsafeBytes { setExpire($0, milliseconds: milliseconds, now: now) }
    }
}
