/// The bookkeeping of nginx's slab allocator (`ngx_slab.c`, x86-64, 4 KiB pages) for one
/// shared zone, without the memory: a shared dict answers `free_space`, fails and evicts
/// exactly when the reference's would, so the sizes it allocates must round and pack the way
/// nginx's do.
///
/// Requests above half a page take whole contiguous pages; smaller ones take a chunk of the
/// next power of two (at least 8 bytes) from a page dedicated to that chunk size, and a page
/// goes back to the free pages when its last chunk is freed. Chunks of 8, 16 and 32 bytes
/// lose the first chunks of their page to its bitmap, as in nginx.
struct SlabModel: Sendable {
    static let pageSize = 4096
    static let pageShift = 12
    private static let minShift = 3
    private static let maxSmall = pageSize / 2

    /// A granted allocation, to be handed back to ``free(_:)``.
    struct Allocation: Sendable, Equatable {
        /// First page of the run, or the chunk's page.
        var page: Int32
        /// Chunk size shift (3...11), or 0 for a run of whole pages.
        var shift: Int8
        /// Pages of the run (1 for a chunk).
        var pages: Int32
    }

    /// Pages the zone has for data, after nginx's pool header and page table.
    let totalPages: Int
    private(set) var freePages: Int
    /// Free page runs (start, count), by address; adjacent runs are merged.
    private var freeRuns: [(start: Int, count: Int)]
    /// For each chunk size, pages with free chunks (most recently used last).
    private var partial: [[Int32]]
    /// Chunks in use per page (chunk pages only).
    private var used: [Int32: Int32] = [:]

    /// The pages `ngx_slab_init` carves out of a zone of `size` bytes (a page-aligned mapping
    /// that starts with the 200-byte pool header, then 9 slot and 9 stat records).
    static func pages(forZoneSize size: Int) -> Int {
        let header = 200 + 9 * 24 + 9 * 32
        guard size > header else { return 0 }
        var pages = (size - header) / (pageSize + 24)
        let start = (header + pages * 24 + pageSize - 1) / pageSize * pageSize
        let fitting = size > start ? (size - start) / pageSize : 0
        if pages > fitting { pages = fitting }
        return pages
    }

    /// Zones are at most 1 TiB (the directive refuses more), so page numbers fit an `Int32`.
    init(zoneSize: Int) {
        totalPages = Self.pages(forZoneSize: min(zoneSize, 1 << 40))
        freePages = totalPages
        freeRuns = totalPages > 0 ? [(0, totalPages)] : []
        partial = Array(repeating: [], count: Self.pageShift - Self.minShift)
    }

    /// `ngx_slab_alloc_locked(pool, size)`; `nil` where nginx returns NULL.
    mutating func allocate(_ size: Int) -> Allocation? {
        if size > Self.maxSmall {
            let count = (size + Self.pageSize - 1) >> Self.pageShift
            guard let start = takePages(count) else { return nil }
            return Allocation(page: Int32(truncatingIfNeeded: start), shift: 0, pages: Int32(truncatingIfNeeded: count))
        }
        var shift = Self.minShift
        while (1 << shift) < size { shift += 1 }
        let slot = shift - Self.minShift
        let page: Int32
        if let last = partial[slot].last {
            page = last
        } else {
            guard let start = takePages(1) else { return nil }
            page = Int32(truncatingIfNeeded: start)
            partial[slot].append(page)
        }
        let count = (used[page] ?? 0) + 1
        used[page] = count
        if count == Self.chunksPerPage(shift) { partial[slot].removeLast() }
        return Allocation(page: page, shift: Int8(shift), pages: 1)
    }

    mutating func free(_ allocation: Allocation) {
        guard allocation.shift != 0 else {
            returnPages(Int(allocation.page), Int(allocation.pages))
            return
        }
        let shift = Int(allocation.shift)
        let slot = shift - Self.minShift
        let page = allocation.page
        let count = (used[page] ?? 1) - 1
        if count == Self.chunksPerPage(shift) - 1 { partial[slot].append(page) }
        if count == 0 {
            used[page] = nil
            if let index = partial[slot].lastIndex(of: page) { partial[slot].remove(at: index) }
            returnPages(Int(page), 1)
        } else {
            used[page] = count
        }
    }

    /// Usable chunks of a page of `1 << shift` chunks; small chunks lose some to the bitmap.
    static func chunksPerPage(_ shift: Int) -> Int32 {
        let chunks = pageSize >> shift
        let exactShift = 6
        guard shift < exactShift else { return Int32(chunks) }
        let bitmapBytes = chunks / 8
        let reserved = (bitmapBytes + (1 << shift) - 1) >> shift
        return Int32(chunks - reserved)
    }

    private mutating func takePages(_ count: Int) -> Int? {
        guard let index = freeRuns.firstIndex(where: { $0.count >= count }) else { return nil }
        let start = freeRuns[index].start
        if freeRuns[index].count == count {
            freeRuns.remove(at: index)
        } else {
            freeRuns[index].start += count
            freeRuns[index].count -= count
        }
        freePages -= count
        return start
    }

    private mutating func returnPages(_ start: Int, _ count: Int) {
        freePages += count
        var low = 0, high = freeRuns.count
        while low < high {
            let middle = (low + high) / 2
            if freeRuns[middle].start < start { low = middle + 1 } else { high = middle }
        }
        freeRuns.insert((start, count), at: low)
        if low + 1 < freeRuns.count, freeRuns[low].start + freeRuns[low].count == freeRuns[low + 1].start {
            freeRuns[low].count += freeRuns[low + 1].count
            freeRuns.remove(at: low + 1)
        }
        if low > 0, freeRuns[low - 1].start + freeRuns[low - 1].count == freeRuns[low].start {
            freeRuns[low - 1].count += freeRuns[low].count
            freeRuns.remove(at: low)
        }
    }
}
