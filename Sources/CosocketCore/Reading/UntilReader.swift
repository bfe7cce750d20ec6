/// The state behind one `receiveuntil` iterator: the boundary, its KMP failure table, and
/// whether a sized iteration has reached the boundary.
///
/// The table makes the match correct when the boundary straddles two reads or overlaps
/// itself (`--abc` found after `---ab`), which a naive restart-on-mismatch scan gets wrong.
/// It lives on the event loop with the socket that reads it.
public final class UntilReader: @unchecked Sendable {
    public let boundary: [UInt8]
    public let inclusive: Bool
    /// `failure[i]` is the length of the longest proper prefix of `boundary[0...i]` that is
    /// also its suffix.
    let failure: [Int]
    /// A sized iteration delivered the last data before the boundary; the next call ends it.
    var endPending = false

    /// - Precondition: `boundary` is not empty (callers reject an empty pattern first).
    public init(boundary: [UInt8], inclusive: Bool) {
        self.boundary = boundary
        self.inclusive = inclusive
        self.failure = Self.failureTable(boundary)
    }

    static func failureTable(_ pattern: [UInt8]) -> [Int] {
        var table = [Int](repeating: 0, count: pattern.count)
        var matched = 0
        var index = 1
        while index < pattern.count {
            if pattern[index] == pattern[matched] {
                matched += 1
                table[index] = matched
                index += 1
            } else if matched > 0 {
                matched = table[matched - 1]
            } else {
                index += 1
            }
        }
        return table
    }
}
