import Testing

@testable import CosocketCore

@Suite struct DecimalDigitsTests {
    @Test(arguments: [0, 7, 10, 99, 1_000_000, UInt64.max])
    func matchesStringFormatting(value: UInt64) {
        let digits = DecimalDigits.withDigits(of: value) { String(decoding: $0, as: UTF8.self) }
        #expect(digits == String(value))
    }
}
