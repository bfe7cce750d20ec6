/// DNS messages as the resolver needs them (RFC 1035): a query for one name and type, and the
/// parts of an answer it uses. Pure value code: the network shell hands it bytes.
///
/// Decoding trusts nothing: every read is bounds-checked, a compression pointer must point
/// before the label it replaces (so pointers cannot loop), and names longer than 255 bytes are
/// refused; anything else wrong is ``DNSMessageError/malformed``.
public enum DNSRecordType: UInt16, Sendable {
    case a = 1
    case cname = 5
    case aaaa = 28
}

public enum DNSMessageError: Error, Sendable, Equatable {
    /// Ends before its header, or a section runs past the end.
    case truncated
    /// A label, pointer, name or record that is not well formed.
    case malformed
}

public struct DNSQuery: Sendable, Equatable {
    public var id: UInt16
    /// The name, without the trailing dot, as given (compared case-insensitively).
    public var name: String
    public var type: DNSRecordType

    public init(id: UInt16, name: String, type: DNSRecordType) {
        self.id = id
        self.name = name
        self.type = type
    }

    /// The wire form, with recursion desired; `nil` for a name DNS cannot carry (an empty
    /// label, a label over 63 bytes, over 255 bytes in all).
    public func encoded() -> [UInt8]? {
        guard let labels = DNSName.labels(name) else { return nil }
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in labels {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        bytes.append(contentsOf: [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1])
        return bytes
    }
}

/// One resource record of an answer section (only the kinds the resolver reads keep data).
public struct DNSRecord: Sendable, Equatable {
    /// The owner name, lower-cased, without the trailing dot.
    public var name: String
    public var type: UInt16
    public var ttl: UInt32
    /// An A or AAAA record's address bytes (4 or 16), or a CNAME's target name (as bytes).
    public var data: [UInt8]
}

public struct DNSResponse: Sendable, Equatable {
    public var id: UInt16
    /// TC: the answer did not fit in the datagram (retry over TCP).
    public var isTruncated: Bool
    /// The response code (0 no error, 2 server failure, 3 name error, ...).
    public var rcode: UInt8
    /// The question's name (lower-cased) and type, when the response has one.
    public var questionName: String?
    public var questionType: UInt16?
    public var answers: [DNSRecord]

    /// Decodes a response; queries (QR clear) are malformed here.
    public static func decode(_ bytes: [UInt8]) throws(DNSMessageError) -> DNSResponse {
        var reader = DNSReader(bytes: bytes)
        let id = try reader.u16()
        let flags = try reader.u16()
        guard flags & 0x8000 != 0 else { throw .malformed }
        let questions = try reader.u16()
        let answerCount = try reader.u16()
        _ = try reader.u16()
        _ = try reader.u16()
        var response = DNSResponse(
            id: id, isTruncated: flags & 0x0200 != 0, rcode: UInt8(flags & 0x000f), questionName: nil, questionType: nil, answers: []
        )
        for index in 0..<Int(questions) {
            let name = try reader.name()
            let type = try reader.u16()
            _ = try reader.u16()
            if index == 0 {
                response.questionName = name
                response.questionType = type
            }
        }
        // A truncated answer may end anywhere after its question: what is there is not used.
        if response.isTruncated { return response }
        for _ in 0..<Int(answerCount) {
            let name = try reader.name()
            let type = try reader.u16()
            _ = try reader.u16()
            let ttl = try reader.u32()
            let length = Int(try reader.u16())
            let end = reader.offset + length
            guard end <= bytes.count else { throw .truncated }
            var data: [UInt8] = []
            switch type {
            case DNSRecordType.a.rawValue:
                guard length == 4 else { throw .malformed }
                data = Array(bytes[reader.offset..<end])
            case DNSRecordType.aaaa.rawValue:
                guard length == 16 else { throw .malformed }
                data = Array(bytes[reader.offset..<end])
            case DNSRecordType.cname.rawValue:
                var target = DNSReader(bytes: bytes, offset: reader.offset)
                data = Array(try target.name().utf8)
                guard target.offset == end else { throw .malformed }
            default:
                break
            }
            reader.offset = end
            response.answers.append(DNSRecord(name: name, type: type, ttl: ttl, data: data))
        }
        return response
    }

    /// Whether this answers `query` (same id, name and type), as a resolver must check before
    /// believing it.
    public func answers(_ query: DNSQuery) -> Bool {
        id == query.id && questionType == query.type.rawValue && questionName == DNSName.normalized(query.name)
    }

    /// The addresses of `type` for `name`, following CNAMEs from it (at most 8), with the
    /// smallest TTL met on the way.
    public func addresses(of type: DNSRecordType, for name: String) -> (addresses: [[UInt8]], ttl: UInt32) {
        var owner = DNSName.normalized(name)
        var ttl = UInt32.max
        for _ in 0..<8 {
            let found = answers.filter { $0.name == owner && $0.type == type.rawValue }
            if !found.isEmpty {
                return (found.map(\.data), min(ttl, found.map(\.ttl).min() ?? ttl))
            }
            guard let alias = answers.first(where: { $0.name == owner && $0.type == DNSRecordType.cname.rawValue }) else { break }
            ttl = min(ttl, alias.ttl)
            owner = String(decoding: alias.data, as: UTF8.self)
        }
        return ([], 0)
    }
}

/// Names: normalization and the label rules.
enum DNSName {
    static func normalized(_ name: String) -> String {
        var text = name.lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    static func labels(_ name: String) -> [[UInt8]]? {
        var text = Array(name.utf8)
        if text.last == UInt8(ascii: ".") { text.removeLast() }
        guard !text.isEmpty, text.count <= 253 else { return nil }
        let labels = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 }) else { return nil }
        return labels
    }
}

/// A bounds-checked cursor over a message.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    mutating func u16() throws(DNSMessageError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw .truncated }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() throws(DNSMessageError) -> UInt32 {
        let high = try u16()
        return UInt32(high) << 16 | UInt32(try u16())
    }

    /// A possibly compressed name, lower-cased, dotted, without the trailing dot; the cursor
    /// ends after the name's bytes at its original place.
    mutating func name() throws(DNSMessageError) -> String {
        var result: [UInt8] = []
        var position = offset
        var resumeAt: Int?
        // A pointer must go strictly backwards from the lowest place read so far: no loops.
        var floor = offset
        var wireLength = 1
        while true {
            guard position < bytes.count else { throw .truncated }
            let length = Int(bytes[position])
            switch length & 0xc0 {
            case 0x00:
                if length == 0 {
                    offset = resumeAt ?? position + 1
                    return String(decoding: result, as: UTF8.self)
                }
                guard position + 1 + length <= bytes.count else { throw .truncated }
                wireLength += length + 1
                guard wireLength <= 255 else { throw .malformed }
                if !result.isEmpty { result.append(UInt8(ascii: ".")) }
                for byte in bytes[(position + 1)...(position + length)] {
                    result.append((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte)
                }
                position += 1 + length
            case 0xc0:
                guard position + 1 < bytes.count else { throw .truncated }
                let target = (length & 0x3f) << 8 | Int(bytes[position + 1])
                guard target < floor else { throw .malformed }
                if resumeAt == nil { resumeAt = position + 2 }
                floor = target
                position = target
            default:
                throw .malformed
            }
        }
    }
}
