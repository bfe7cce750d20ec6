import Testing

@testable import CosocketCore

/// Builds responses byte by byte, so that every malformation can be written down.
private enum Wire {
    static func header(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, questions: UInt16 = 1, answers: UInt16) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xff), UInt8(flags >> 8), UInt8(flags & 0xff), 0, UInt8(questions), 0, UInt8(answers), 0, 0, 0, 0]
    }

    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func question(_ text: String, type: UInt16 = 1) -> [UInt8] {
        name(text) + [UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
    }

    /// An answer whose owner is a pointer to offset 12 (the question's name).
    static func answer(type: UInt16 = 1, ttl: UInt32 = 300, data: [UInt8], owner: [UInt8] = [0xc0, 12]) -> [UInt8] {
        owner + [UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
            + [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff)]
            + [UInt8(data.count >> 8), UInt8(data.count & 0xff)] + data
    }
}

@Suite struct DNSMessageTests {
    @Test func encodesAQueryWithRecursionDesired() {
        let bytes = DNSQuery(id: 0xabcd, name: "Example.test.", type: .aaaa).encoded()
        #expect(bytes == [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + Wire.name("Example.test") + [0, 28, 0, 1])
    }

    @Test(arguments: ["", ".", "a..b", String(repeating: "x", count: 64) + ".test", Array(repeating: "abcdefghi", count: 26).joined(separator: ".")])
    func refusesNamesDNSCannotCarry(_ name: String) {
        #expect(DNSQuery(id: 1, name: name, type: .a).encoded() == nil)
    }

    @Test func decodesACompressedAnswer() throws {
        let bytes = Wire.header(answers: 2) + Wire.question("a.test") + Wire.answer(ttl: 60, data: [127, 0, 0, 5])
            + Wire.answer(ttl: 30, data: [127, 0, 0, 6])
        let response = try DNSResponse.decode(bytes)
        #expect(response.rcode == 0 && !response.isTruncated)
        #expect(response.answers(DNSQuery(id: 0x1234, name: "A.TEST", type: .a)))
        #expect(!response.answers(DNSQuery(id: 0x1235, name: "a.test", type: .a)))  // another id
        #expect(!response.answers(DNSQuery(id: 0x1234, name: "b.test", type: .a)))  // another question
        #expect(!response.answers(DNSQuery(id: 0x1234, name: "a.test", type: .aaaa)))
        let found = response.addresses(of: .a, for: "a.test")
        #expect(found.addresses == [[127, 0, 0, 5], [127, 0, 0, 6]])
        #expect(found.ttl == 30)
    }

    @Test func followsCNAMEsWithTheSmallestTTL() throws {
        // alias.test CNAME a.test (a pointer into the question for "test"), a.test A 127.0.0.5
        let target: [UInt8] = [1, UInt8(ascii: "a"), 0xc0, 18]
        let bytes = Wire.header(answers: 2) + Wire.question("alias.test")
            + Wire.answer(type: 5, ttl: 10, data: target) + Wire.answer(ttl: 100, data: [127, 0, 0, 5], owner: [0xc0, 40])
        let response = try DNSResponse.decode(bytes)
        #expect(response.answers[0].data == Array("a.test".utf8))
        let found = response.addresses(of: .a, for: "alias.test")
        #expect(found.addresses == [[127, 0, 0, 5]] && found.ttl == 10)
        #expect(response.addresses(of: .aaaa, for: "alias.test").addresses.isEmpty)
    }

    @Test func readsTheResponseCodeAndTruncation() throws {
        #expect(try DNSResponse.decode(Wire.header(flags: 0x8183, answers: 0) + Wire.question("nx.test")).rcode == 3)
        #expect(try DNSResponse.decode(Wire.header(flags: 0x8182, answers: 0) + Wire.question("x.test")).rcode == 2)
        // Truncated: the answers that did not fit are not read.
        let truncated = Wire.header(flags: 0x8380, answers: 40) + Wire.question("big.test") + [0xc0]
        #expect(try DNSResponse.decode(truncated).isTruncated)
    }

    @Test(arguments: [
        ([UInt8](), DNSMessageError.truncated),
        (Array(Wire.header(answers: 0).prefix(11)), .truncated),
        (Wire.header(flags: 0x0100, answers: 0) + Wire.question("a.test"), .malformed),  // a query
        (Wire.header(answers: 0) + Array(Wire.question("a.test").dropLast(3)), .truncated),
        (Wire.header(answers: 1) + Wire.question("a.test"), .truncated),  // an answer announced, none there
        (Wire.header(answers: 1) + Wire.question("a.test") + Array(Wire.answer(data: [127, 0, 0, 1]).dropLast(1)), .truncated),
        (Wire.header(answers: 1) + Wire.question("a.test") + Wire.answer(data: [127, 0, 0, 1, 9]), .malformed),  // A of 5 bytes
        (Wire.header(answers: 1) + Wire.question("a.test") + Wire.answer(type: 28, data: [1, 2, 3, 4]), .malformed),
        (Wire.header(answers: 0) + [0xc0, 12, 0, 1, 0, 1], .malformed),  // a pointer to itself
        (Wire.header(answers: 0) + [1, 0x61, 0xc0, 14, 0, 1, 0, 1], .malformed),  // a pointer forwards
        (Wire.header(answers: 1) + Wire.question("a.test") + Wire.answer(data: [127, 0, 0, 1], owner: [1, 0x62, 0xc0, 31]), .malformed),
        (Wire.header(answers: 0) + [0x40, 0x61, 0, 0, 1, 0, 1], .malformed),  // reserved label bits
        (Wire.header(answers: 0) + [5, 0x61], .truncated),
        (Wire.header(answers: 0) + [0xc0], .truncated),
    ])
    func refusesBadInput(_ bytes: [UInt8], _ error: DNSMessageError) {
        #expect(throws: error) { try DNSResponse.decode(bytes) }
    }

    @Test func refusesNamesOver255Bytes() throws {
        let label: [UInt8] = [63] + [UInt8](repeating: 0x61, count: 63)
        // Four labels of 63 bytes: 257 bytes on the wire.
        let long: [UInt8] = label + label + label + label + [0]
        #expect(throws: DNSMessageError.malformed) { try DNSResponse.decode(Wire.header(answers: 0) + long + [0, 1, 0, 1]) }
        // Three labels (193 bytes) are fine; a label plus a pointer to them is 257 bytes.
        let first: [UInt8] = label + label + label + [0, 0, 1, 0, 1]
        #expect(try DNSResponse.decode(Wire.header(answers: 0) + first).questionName?.utf8.count == 191)
        let second: [UInt8] = label + [0xc0, 12, 0, 1, 0, 1]
        #expect(throws: DNSMessageError.malformed) { try DNSResponse.decode(Wire.header(questions: 2, answers: 0) + first + second) }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        let valid = Wire.header(answers: 1) + Wire.question("a.test") + Wire.answer(data: [127, 0, 0, 1])
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            _ = try? DNSResponse.decode(bytes)
        }
    }
}
