import Glibc
/// What a read pattern decides about the bytes buffered so far.
public enum ReadDecision: Equatable, Sendable {
    /// Wait for more bytes (or end of stream).
    case needMore
    /// Return the first `count` bytes and drop `consume` bytes (`consume >= count`: a line's LF or a
    /// boundary is consumed but not returned). `stripCR` asks the caller to drop CR bytes.
    case deliver(count: Int, consume: Int, stripCR: Bool)
    /// A sized `receiveuntil` iteration is over: return `nil, nil` after dropping `consume` bytes.
    case endOfIteration(consume: Int)
    /// End of stream before the pattern was satisfied: fail with `closed` and the buffered bytes.
    case closedEarly
}

/// The pure decision procedure of one pending read: fed the unconsumed bytes each time more
/// arrive, it remembers how far it has scanned so a large read stays linear, not quadratic.
public struct ReadMatcher: Sendable {
    public let pattern: ReadPattern
    private var scanned = 0
    private var matchedPrefix = 0

    /// Trailing bytes that matched the start of a `receiveuntil` boundary when the scan stopped.
    public var heldBackCount: Int { matchedPrefix }

    public init(_ pattern: ReadPattern) {
        self.pattern = pattern
    }

    /// Decides what to do with `bytes`, the unconsumed buffer, which only ever grows between
    /// calls for one matcher. `eof` says no more bytes will arrive.
    public mutating func evaluate(_ bytes: UnsafeRawBufferPointer, eof: Bool) -> ReadDecision {
        switch pattern {
        case .bytes(let wanted):
            if bytes.count >= wanted { return .deliver(count: wanted, consume: wanted, stripCR: false) }
        case .any(let max):
            if !bytes.isEmpty {
                let count = Swift.min(max, bytes.count)
                return .deliver(count: count, consume: count, stripCR: false)
            }
        case .all:
            if eof { return .deliver(count: bytes.count, consume: bytes.count, stripCR: false) }
            return .needMore
        case .line:
            if let end = scanForLineFeed(bytes) { return .deliver(count: end, consume: end + 1, stripCR: true) }
        case .until(let reader, let limit):
            if let decision = scanForBoundary(bytes, reader: reader, limit: limit) { return decision }
        }
        return eof ? .closedEarly : .needMore
    }

    private mutating func scanForLineFeed(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard scanned < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + scanned, Int32(UInt8(ascii: "\n")), bytes.count - scanned) else {
            scanned = bytes.count
            return nil
        }
        let end = base.distance(to: UnsafeRawPointer(hit))
        scanned = end
        return end
    }

    private mutating func scanForBoundary(
        _ bytes: UnsafeRawBufferPointer,
        reader: UntilReader,
        limit: Int?
    ) -> ReadDecision? {
        if reader.endPending {
            reader.endPending = false
            return .endOfIteration(consume: 0)
        }
        let boundary = reader.boundary
        let length = boundary.count
        var matched = matchedPrefix
        var index = scanned
        var boundaryStart: Int?
        // A sized iteration hands out at most `limit` bytes: a boundary that has not ended by
        // `limit + length` cannot change this call's answer, so scanning further is wasted work
        // (and quadratic, since each call starts a new scan over the whole buffer).
        let scanEnd = limit.map { $0 >= bytes.count ? bytes.count : Swift.min(bytes.count, $0 + length) } ?? bytes.count
        let first = boundary[0]
        while index < scanEnd {
            if matched == 0 {
                guard let base = bytes.baseAddress,
                      let hit = memchr(base + index, Int32(first), scanEnd - index) else { index = scanEnd; break }
                index = base.distance(to: UnsafeRawPointer(hit))
            }
            let byte = bytes[index]
            while matched > 0 && byte != boundary[matched] { matched = reader.failure[matched - 1] }
            if byte == boundary[matched] { matched += 1 }
            index += 1
            if matched == length {
                boundaryStart = index - length
                break
            }
        }
        scanned = index
        matchedPrefix = matched

        guard let start = boundaryStart else {
            // Bytes that can no longer begin the boundary are safe to hand out in a sized iteration.
            let safe = index - matched
            if let limit, safe >= limit { return .deliver(count: limit, consume: limit, stripCR: false) }
            return nil
        }
        let end = start + length
        let dataCount = reader.inclusive ? end : start
        guard let limit else { return .deliver(count: dataCount, consume: end, stripCR: false) }
        if dataCount == 0 { return .endOfIteration(consume: end) }
        // The size bounds the data before the boundary. As in the reference, a piece ends once
        // it holds `limit` data bytes, before the boundary is looked at; an inclusive boundary
        // otherwise rides whole on the piece that reaches it (`xxab` by `ab`: in pieces of 1,
        // `x`, `x`, `ab`; of 3, `xxab`). Cutting a piece inside the boundary would lose it: the
        // next receive, starting within it, could not match it any more.
        if reader.inclusive ? start < limit : start <= limit {
            reader.endPending = true
            return .deliver(count: dataCount, consume: end, stripCR: false)
        }
        return .deliver(count: limit, consume: limit, stripCR: false)
    }
}
