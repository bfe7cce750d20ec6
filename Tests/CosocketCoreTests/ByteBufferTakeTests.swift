import CosocketTestSupport
import NIOCore
import Testing

@testable import CosocketCore

/// `takeBytes` against a plain array model: what a `*l` read returns (every CR dropped) and
/// what stays buffered.
@Suite struct ByteBufferTakeTests {
    private func take(_ bytes: [UInt8], count: Int, consume: Int, strippingCR: Bool) -> (taken: [UInt8], rest: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        let taken = buffer.takeBytes(count, consuming: consume, strippingCR: strippingCR)
        return (Array(taken.readableBytesView), Array(buffer.readableBytesView))
    }

    @Test func crlfLineLosesItsCarriageReturn() {
        let line = Array("VALUE bench 0 100\r\nnext".utf8)
        let result = take(line, count: 18, consume: 19, strippingCR: true)
        #expect(result.taken == Array("VALUE bench 0 100".utf8))
        #expect(result.rest == Array("next".utf8))
    }

    @Test func everyCarriageReturnIsDropped() {
        let line = Array("\ra\r\rb\r".utf8)
        #expect(take(line, count: line.count, consume: line.count, strippingCR: true).taken == Array("ab".utf8))
        #expect(take(Array("\r\r".utf8), count: 2, consume: 2, strippingCR: true).taken.isEmpty)
        #expect(take(Array("a\rb".utf8), count: 3, consume: 3, strippingCR: false).taken == Array("a\rb".utf8))
    }

    @Test func matchesTheModelOnRandomInput() {
        var random = SplitMix(seed: 42)
        let alphabet: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: "x"), UInt8(ascii: "y")]
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...40, using: &random)
            let bytes = (0..<length).map { _ in alphabet.randomElement(using: &random)! }
            let consume = Int.random(in: 0...length, using: &random)
            let count = Int.random(in: 0...consume, using: &random)
            let strip = Bool.random(using: &random)
            let result = take(bytes, count: count, consume: consume, strippingCR: strip)
            let expected = strip ? bytes[..<count].filter { $0 != UInt8(ascii: "\r") } : Array(bytes[..<count])
            #expect(result.taken == expected)
            #expect(result.rest == Array(bytes[consume...]))
        }
    }
}
