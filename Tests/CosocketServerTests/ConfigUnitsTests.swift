import Testing
@testable import CosocketServer

@Suite("Config units")
struct ConfigUnitsTests {
    @Test(arguments: [
        ("5", 5), ("5s", 5), ("0", 0), ("1m", 60), ("1h", 3600), ("1d", 86400), ("1w", 604_800),
        ("1M", 2_592_000), ("1y", 31_536_000), ("1h 30m", 5400), ("1h30m", 5400), ("1m30s", 90),
        ("1m 30s", 90), ("1h30", 3630), ("1h  30m  15s", 5415), ("1y 1M 1w 1d 1h 1m 1s", 31_536_000 + 2_592_000 + 694_861),
        ("90m", 5400), ("007s", 7),
        // nginx quirks: a bare number after units is added as seconds; trailing spaces are skipped.
        ("1s 1", 2), ("1m30s ", 90), ("30 ", 30),
    ])
    func seconds(text: String, expected: Int) throws {
        #expect(try ConfigUnits.seconds(text) == expected)
    }

    @Test(arguments: [
        "", " ", "s", "ms", "100ms", "1x", "1.5s", "-1", "+1", "1s1m", "1h 1h", "1m1h",
        "1 s", "abc", "5S", "1H", "99999999999999999999", "9223372036854775807y",
    ])
    func invalidSeconds(text: String) {
        #expect(throws: ConfigUnitError(value: text)) { try ConfigUnits.seconds(text) }
    }

    @Test(arguments: [
        ("100ms", 100), ("5s", 5000), ("5", 5000), ("0", 0), ("1m", 60_000), ("1h 30m", 5_400_000),
        ("1s 500ms", 1500), ("1s500ms", 1500), ("1m30s", 90_000), ("1w", 604_800_000), ("1d 1ms", 86_400_001),
        ("2s 5", 7000),
    ])
    func milliseconds(text: String, expected: Int) throws {
        #expect(try ConfigUnits.milliseconds(text) == expected)
    }

    @Test(arguments: [
        "", "ms", "1y", "1M", "1ms 1s", "1ms1ms", "1.5s", "1x", "-5", "9223372036854775807",
        "100 ms", "5 5 5",
    ])
    func invalidMilliseconds(text: String) {
        #expect(throws: ConfigUnitError(value: text)) { try ConfigUnits.milliseconds(text) }
    }

    @Test(arguments: [("250", 250), ("0", 0), ("1s 250", 1250), ("2s", 2000), ("10ms", 10)])
    func millisecondsWithBareMilliseconds(text: String, expected: Int) throws {
        #expect(try ConfigUnits.milliseconds(text, bareNumber: .milliseconds) == expected)
    }

    @Test(arguments: [
        ("0", 0), ("512", 512), ("16k", 16384), ("16K", 16384), ("1m", 1_048_576), ("1M", 1_048_576),
        ("1g", 1_073_741_824), ("2G", 2_147_483_648), ("0k", 0), ("0010", 10),
        ("9223372036854775807", Int.max),
    ])
    func size(text: String, expected: Int) throws {
        #expect(try ConfigUnits.size(text) == expected)
    }

    @Test(arguments: [
        "", "k", "M", "1.5M", "1kb", "-1", "1 k", " 1k", "1t", "1T", "1kk", "abc",
        "9223372036854775808", "9007199254740992k", "8589934592g",
    ])
    func invalidSize(text: String) {
        #expect(throws: ConfigUnitError(value: text)) { try ConfigUnits.size(text) }
    }

    @Test func errorWording() throws {
        let error = ConfigUnitError(value: "10x")
        #expect(error.description == "invalid value \"10x\"")
        // The validation layer's nginx-style report for a directive:
        let node = ConfigNode(name: "keepalive_timeout", arguments: ["10x"], file: "/etc/nginx/nginx.conf", line: 7)
        #expect(node.error(.directive(name: node.name, message: error.message)).description ==
                "\"keepalive_timeout\" directive invalid value in /etc/nginx/nginx.conf:7")
    }
}
