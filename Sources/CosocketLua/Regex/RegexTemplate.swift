/// A replacement template of `ngx.re.sub`/`gsub`: literal bytes and `$N`/`${N}` captures,
/// `$$` for a dollar. Named references (`$name`) are refused, as the reference refuses them
/// ("named captures not supported yet").
public struct RegexTemplate: Equatable, Sendable {
    public enum Piece: Equatable, Sendable {
        case literal([UInt8])
        case capture(Int)
    }

    public let pieces: [Piece]

    /// Why a template did not compile: the line the reference logs at `error` level (the
    /// caller then returns `failed to compile the replacement template`).
    public struct Failure: Error, Equatable, Sendable {
        public let logMessage: String
    }

    public static func compile(_ source: some Collection<UInt8>) -> Result<RegexTemplate, Failure> {
        let source = Array(source)
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal.removeAll()
        }
        let invalid = Failure(logMessage: "lua script: invalid capturing variable name found in \"\(String(decoding: source, as: UTF8.self))\"")
        var i = 0
        while i < source.count {
            guard source[i] == UInt8(ascii: "$") else {
                literal.append(source[i])
                i += 1
                continue
            }
            i += 1
            guard i < source.count else { return .failure(invalid) }
            if source[i] == UInt8(ascii: "$") {
                literal.append(source[i])
                i += 1
                continue
            }
            var bracket = false
            if source[i] == UInt8(ascii: "{") {
                bracket = true
                i += 1
                guard i < source.count else { return .failure(invalid) }
            }
            let numeric = isDigit(source[i])
            let nameStart = i
            var number = 0
            var closed = false
            while i < source.count {
                let byte = source[i]
                if byte == UInt8(ascii: "}") && bracket {
                    closed = true
                    break
                }
                if numeric {
                    guard isDigit(byte) else { break }
                    // Saturates: a group that large never exists, so it copies nothing.
                    let (times10, overflow1) = number.multipliedReportingOverflow(by: 10)
                    let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                    number = overflow1 || overflow2 ? Int.max : sum
                } else if !(isDigit(byte) || isLetter(byte) || byte == UInt8(ascii: "_")) {
                    break
                }
                i += 1
            }
            let name = String(decoding: source[nameStart..<i], as: UTF8.self)
            if closed {
                i += 1
            } else if bracket {
                return .failure(Failure(logMessage: "the closing bracket in \"\(name)\" variable is missing"))
            }
            guard !name.isEmpty else { return .failure(invalid) }
            guard numeric else {
                return .failure(Failure(logMessage: "attempt to use named capturing variable \"\(name)\" (named captures not supported yet)"))
            }
            flush()
            pieces.append(.capture(number))
        }
        flush()
        return .success(RegexTemplate(pieces: pieces))
    }

    /// Appends the template's expansion for the last match of `regex` (`count` = its return
    /// code: groups at or beyond it copy nothing, nor do unset ones).
    public func expand(into output: inout [UInt8], subject: UnsafeRawBufferPointer, regex: CompiledRegex, count: Int) {
        for piece in pieces {
            switch piece {
            case .literal(let bytes):
                output += bytes
            case .capture(let group):
                guard group < count, let range = regex.range(of: group) else { continue }
                output += subject[range]
            }
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
