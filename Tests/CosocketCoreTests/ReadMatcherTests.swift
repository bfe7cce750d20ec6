import CosocketTestSupport
import NIOCore
import Testing

@testable import CosocketCore

/// Feeds a stream to successive reads in chunks, the way the socket does, and collects what
/// each read returns.
private struct StreamHarness {
    var buffer = ByteBuffer()
    var pending: ArraySlice<UInt8>
    var chunkSizes: () -> Int

    init(_ stream: [UInt8], chunkSizes: @escaping () -> Int) {
        self.pending = stream[...]
        self.chunkSizes = chunkSizes
    }

    /// Runs one read to its end: `.data`, `.endOfIteration`, or `.failure(closed)` at EOF.
    mutating func read(_ pattern: ReadPattern) -> ReadOutcome {
        var matcher = ReadMatcher(pattern)
        while true {
            let eof = pending.isEmpty
            let decision = buffer.withUnsafeReadableBytes { matcher.evaluate($0, eof: eof) }
            switch decision {
            case .needMore:
                let size = max(1, min(chunkSizes(), pending.count))
                buffer.writeBytes(pending.prefix(size))
                pending = pending.dropFirst(size)
            case .deliver(let count, let consume, let stripCR):
                return .data(buffer.takeBytes(count, consuming: consume, strippingCR: stripCR))
            case .endOfIteration(let consume):
                buffer.moveReaderIndex(forwardBy: consume)
                return .endOfIteration
            case .closedEarly:
                let rest = buffer.readableBytes
                return .failure(.closed(partial: buffer.takeBytes(rest, consuming: rest, strippingCR: false)))
            }
        }
    }
}

private func text(_ outcome: ReadOutcome) -> String {
    switch outcome {
    case .data(let data): return "data:" + String(buffer: data)
    case .endOfIteration: return "end"
    case .failure(let error): return "fail:\(error.message):" + String(buffer: error.partial)
    }
}

/// Every way to cut a stream: one byte at a time, all at once, and seeded random splits.
private func splitStrategies() -> [(String, () -> Int)] {
    var generator = SplitMix(seed: 42)
    return [
        ("bytewise", { 1 }),
        ("whole", { Int.max }),
        ("random", { Int(generator.next() % 7) + 1 }),
    ]
}

@Suite struct ReadMatcherTests {
    private func run(_ stream: String, _ reads: [ReadPattern]) -> [[String]] {
        splitStrategies().map { _, chunks in
            var harness = StreamHarness(Array(stream.utf8), chunkSizes: chunks)
            return reads.map { text(harness.read($0)) }
        }
    }

    private func expectAllSplits(_ stream: String, _ reads: [ReadPattern], _ expected: [String]) {
        for result in run(stream, reads) { #expect(result == expected) }
    }

    @Test func lines() {
        expectAllSplits(
            "one\r\ntwo\nth\rree\r\nlast",
            [.line, .line, .line, .line],
            ["data:one", "data:two", "data:three", "fail:closed:last"]
        )
    }

    @Test func emptyLinesAndCROnly() {
        expectAllSplits("\n\r\n\r\r\nx\n", [.line, .line, .line, .line], ["data:", "data:", "data:", "data:x"])
    }

    @Test func sizes() {
        expectAllSplits("abcdefghij", [.bytes(3), .bytes(0), .bytes(5), .bytes(4)], ["data:abc", "data:", "data:defgh", "fail:closed:ij"])
    }

    @Test func allUntilEOFIsSuccess() {
        expectAllSplits("head\nrest of it", [.line, .all, .all], ["data:head", "data:rest of it", "data:"])
    }

    @Test func anyReturnsAtMostMax() {
        for result in run("abcdef", [.any(max: 100)]) {
            #expect(result[0].hasPrefix("data:a"))
        }
        expectAllSplits("", [.any(max: 4)], ["fail:closed:"])
    }

    @Test func untilSimpleAndRepeated() {
        let reader = UntilReader(boundary: Array("--b".utf8), inclusive: false)
        expectAllSplits(
            "one--btwo--b--bend",
            [.until(reader, limit: nil), .until(reader, limit: nil), .until(reader, limit: nil), .until(reader, limit: nil)],
            ["data:one", "data:two", "data:", "fail:closed:end"]
        )
    }

    @Test func untilSelfOverlappingPatterns() {
        let dashes = UntilReader(boundary: Array("--abc".utf8), inclusive: false)
        expectAllSplits("x---abc", [.until(dashes, limit: nil)], ["data:x-"])
        expectAllSplits("---ab--abcz", [.until(dashes, limit: nil), .all], ["data:---ab", "data:z"])
        let aab = UntilReader(boundary: Array("aab".utf8), inclusive: false)
        expectAllSplits("aaab", [.until(aab, limit: nil)], ["data:a"])
        let abab = UntilReader(boundary: Array("abac".utf8), inclusive: false)
        expectAllSplits("ababac!", [.until(abab, limit: nil), .all], ["data:ab", "data:!"])
    }

    @Test func untilInclusive() {
        let reader = UntilReader(boundary: Array("\r\n".utf8), inclusive: true)
        expectAllSplits("a\r\nb\r\n", [.until(reader, limit: nil), .until(reader, limit: nil)], ["data:a\r\n", "data:b\r\n"])
    }

    @Test func untilSizedIteration() {
        let reader = UntilReader(boundary: Array("--X".utf8), inclusive: false)
        let sized = ReadPattern.until(reader, limit: 4)
        expectAllSplits(
            "abcdefghij--Xtail",
            [sized, sized, sized, sized, .all],
            ["data:abcd", "data:efgh", "data:ij", "end", "data:tail"]
        )
    }

    /// Found by fuzzing (Fuzz/, read-matcher): a sized inclusive iteration cut its piece inside
    /// the boundary, and the next receive, starting within it, read on past it. The reference
    /// (checked with ref-run) bounds only the data by the size and hands the boundary whole on
    /// the piece that reaches it.
    @Test func untilSizedInclusiveKeepsTheBoundaryWhole() {
        let reader = UntilReader(boundary: Array("ab".utf8), inclusive: true)
        let one = ReadPattern.until(reader, limit: 1)
        expectAllSplits("xxabyyabzz", [one, one, one, one, one, one, one, one], ["data:x", "data:x", "data:ab", "end", "data:y", "data:y", "data:ab", "end"])
        let three = ReadPattern.until(reader, limit: 3)
        expectAllSplits("xxabyyabzz", [three, three, three, three, three], ["data:xxab", "end", "data:yyab", "end", "fail:closed:zz"])
        expectAllSplits("abz", [one, one, one, one], ["data:ab", "end", "data:z", "fail:closed:"])
    }

    @Test func untilSizedHoldsBackBoundaryPrefix() {
        let reader = UntilReader(boundary: Array("--X".utf8), inclusive: false)
        let sized = ReadPattern.until(reader, limit: 2)
        // "ab-" then "-" then "X": the dashes must not be handed out before the X decides.
        expectAllSplits("ab--X", [sized, sized], ["data:ab", "end"])
        expectAllSplits("ab--Y", [sized, sized, sized], ["data:ab", "data:--", "fail:closed:Y"])
    }

    @Test func untilMixedWithOtherReads() {
        let reader = UntilReader(boundary: Array("::".utf8), inclusive: false)
        expectAllSplits(
            "12345key::value\n",
            [.bytes(5), .until(reader, limit: nil), .line],
            ["data:12345", "data:key", "data:value"]
        )
    }

    /// Random boundaries over a small alphabet, checked against a naive search.
    @Test func untilMatchesNaiveSearch() {
        var random = SplitMix(seed: 7)
        for _ in 0..<500 {
            let alphabet = Array("ab-".utf8)
            let boundary = (0..<(Int(random.next() % 4) + 1)).map { _ in alphabet[Int(random.next() % 3)] }
            let stream = (0..<(Int(random.next() % 40))).map { _ in alphabet[Int(random.next() % 3)] }
            let expected = naiveSplit(stream, boundary)
            for (_, chunks) in splitStrategies() {
                let reader = UntilReader(boundary: boundary, inclusive: false)
                var harness = StreamHarness(stream, chunkSizes: chunks)
                var got: [String] = []
                while true {
                    let outcome = harness.read(.until(reader, limit: nil))
                    got.append(text(outcome))
                    if case .failure = outcome { break }
                }
                #expect(got == expected, "boundary \(String(decoding: boundary, as: UTF8.self)) stream \(String(decoding: stream, as: UTF8.self))")
            }
        }
    }

    private func naiveSplit(_ stream: [UInt8], _ boundary: [UInt8]) -> [String] {
        var result: [String] = []
        var start = 0
        var index = 0
        while index + boundary.count <= stream.count {
            if Array(stream[index..<(index + boundary.count)]) == boundary {
                result.append("data:" + String(decoding: stream[start..<index], as: UTF8.self))
                index += boundary.count
                start = index
            } else {
                index += 1
            }
        }
        result.append("fail:closed:" + String(decoding: stream[start...], as: UTF8.self))
        return result
    }

    @Test func failureTable() {
        #expect(UntilReader.failureTable(Array("abab".utf8)) == [0, 0, 1, 2])
        #expect(UntilReader.failureTable(Array("aaab".utf8)) == [0, 1, 2, 0])
        #expect(UntilReader.failureTable(Array("--abc".utf8)) == [0, 1, 0, 0, 0])
    }

    @Test func stringPatterns() {
        #expect(ReadPattern(patternString: "*l").map { if case .line = $0 { true } else { false } } == true)
        #expect(ReadPattern(patternString: "*a").map { if case .all = $0 { true } else { false } } == true)
        #expect(ReadPattern(patternString: "*x") == nil)
        #expect(ReadPattern(patternString: "l") == nil)
    }
}
