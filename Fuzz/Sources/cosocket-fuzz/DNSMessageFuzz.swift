@testable import CosocketCore

/// The DNS response decoder on a datagram (or a TCP message's body) from a nameserver.
///
/// Checks: address records hold 4 or 16 bytes, names are lower-case and within DNS's 255
/// bytes, following CNAMEs ends, and a decoded response written out again (uncompressed, by
/// ``encodeResponse``) decodes to the same response.
enum DNSMessageFuzz: FuzzTarget {
    static func run(_ input: [UInt8]) {
        guard let response = try? DNSResponse.decode(input) else { return }
        for record in response.answers {
            checkName(record.name)
            switch record.type {
            case DNSRecordType.a.rawValue: fuzzCheck(record.data.count == 4, "A of \(record.data.count) bytes")
            case DNSRecordType.aaaa.rawValue: fuzzCheck(record.data.count == 16, "AAAA of \(record.data.count) bytes")
            case DNSRecordType.cname.rawValue: checkName(String(decoding: record.data, as: UTF8.self))
            default: fuzzCheck(record.data.isEmpty, "data kept for type \(record.type)")
            }
        }
        if let name = response.questionName {
            checkName(name)
            for type in [DNSRecordType.a, .aaaa] {
                let found = response.addresses(of: type, for: name)
                fuzzCheck(found.addresses.allSatisfy { $0.count == (type == .a ? 4 : 16) }, "addresses of the wrong size")
            }
            _ = response.answers(DNSQuery(id: response.id, name: name, type: .a))
        }
        guard let again = encodeResponse(response) else { return }
        do {
            let decoded = try DNSResponse.decode(again)
            fuzzCheck(decoded == response, "round trip: \(response) became \(decoded)")
        } catch {
            fuzzCheck(false, "round trip: \(response) written as \(again) does not decode: \(error)")
        }
    }

    static func checkName(_ name: String) {
        fuzzCheck(name.utf8.count <= 255 * 3, "name of \(name.utf8.count) bytes")
        fuzzCheck(!name.utf8.contains { $0 >= 65 && $0 <= 90 }, "name not lower-cased: \(name)")
    }

    /// The response as a nameserver would send it without compression; nil when a name cannot
    /// be written (labels over 63 bytes once repaired UTF-8 grows them, an empty label).
    static func encodeResponse(_ response: DNSResponse) -> [UInt8]? {
        func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
        func name(_ text: String) -> [UInt8]? {
            if text.isEmpty { return [0] }
            guard !text.hasSuffix("."), let labels = DNSName.labels(text) else { return nil }
            var bytes: [UInt8] = []
            for label in labels { bytes += [UInt8(label.count)] + label }
            guard bytes.count + 1 <= 255 else { return nil }
            return bytes + [0]
        }
        let flags: UInt16 = 0x8000 | (response.isTruncated ? 0x0200 : 0) | UInt16(response.rcode)
        var bytes = u16(response.id) + u16(flags)
        bytes += u16(response.questionName == nil ? 0 : 1) + u16(UInt16(response.answers.count)) + u16(0) + u16(0)
        if let question = response.questionName {
            guard let encoded = name(question) else { return nil }
            bytes += encoded + u16(response.questionType ?? 0) + u16(1)
        }
        for record in response.answers {
            guard let owner = name(record.name) else { return nil }
            var data = record.data
            if record.type == DNSRecordType.cname.rawValue {
                guard let target = name(String(decoding: record.data, as: UTF8.self)) else { return nil }
                data = target
            }
            bytes += owner + u16(record.type) + u16(1) + u16(UInt16(record.ttl >> 16)) + u16(UInt16(record.ttl & 0xffff))
            bytes += u16(UInt16(data.count)) + data
        }
        return bytes
    }
}
