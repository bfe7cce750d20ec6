import CPCRE2

/// A compiled PCRE2 pattern, immutable once built: PCRE2 lets any number of threads match
/// with it at once, each with match data of its own. The host's `location ~` and
/// `server_name ~` patterns are shared by all workers this way.
public final class RegexCode: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Capture groups in the pattern.
    public let groupCount: Int
    /// Named groups in PCRE2's name-table order: (group number, name bytes).
    public let names: [(group: Int, name: [UInt8])]
    /// The pattern has JIT code that `pcre2_jit_match` may run without `pcre2_match`'s checks:
    /// those checks are the UTF validity scan (needless without UTF, or with
    /// `PCRE2_MATCH_INVALID_UTF`, where the JIT code copes with bad bytes itself) and argument
    /// checks our callers make. About 120 instructions a match, a twentieth of a `jo` match.
    let directJIT: Bool

    private init(pointer: OpaquePointer) {
        self.pointer = pointer
        var groups: UInt32 = 0
        pcre2_pattern_info_8(pointer, UInt32(PCRE2_INFO_CAPTURECOUNT), &groups)
        groupCount = Int(groups)
        names = Self.nameTable(pointer)
        var jitSize = 0
        var options: UInt32 = 0
        pcre2_pattern_info_8(pointer, UInt32(PCRE2_INFO_JITSIZE), &jitSize)
        pcre2_pattern_info_8(pointer, UInt32(PCRE2_INFO_ALLOPTIONS), &options)
        directJIT = jitSize > 0 && (options & PCRE2_UTF == 0 || options & PCRE2_MATCH_INVALID_UTF != 0)
    }

    deinit { pcre2_code_free_8(pointer) }

    /// PCRE2's option for case-insensitive patterns, for modules that do not import PCRE2.
    public static let caseless = PCRE2_CASELESS

    /// Compiles `pattern` with PCRE2 `options` (and its JIT when `jit`); a failure is the
    /// reference's message, `pcre2_compile() failed: <reason> in "<pattern>" at "<rest>"`.
    public static func compile(_ pattern: UnsafeRawBufferPointer, options: UInt32, jit: Bool) -> Result<RegexCode, RegexCompileError> {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = pattern.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? RegexSubject.empty
        // The reference hands PCRE a C string: a pattern ends at its first NUL byte.
        let length = pattern.firstIndex(of: 0) ?? pattern.count
        guard let code = pcre2_compile_8(bytes, length, options, &errorCode, &errorOffset, nil) else {
            return .failure(RegexCompileError(code: errorCode, offset: errorOffset, pattern: pattern))
        }
        if jit { _ = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) }
        return .success(RegexCode(pointer: code))
    }

    private static func nameTable(_ code: OpaquePointer) -> [(group: Int, name: [UInt8])] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        guard count > 0 else { return [] }
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard let table else { return [] }
        return (0..<Int(count)).map { index in
            // Each entry: the group number (2 bytes, big-endian), then the name, NUL-terminated.
            let entry = table + index * Int(entrySize)
            let group = Int(entry[0]) << 8 | Int(entry[1])
            var name: [UInt8] = []
            var cursor = entry + 2
            while cursor < entry + Int(entrySize) && cursor.pointee != 0 {
                name.append(cursor.pointee)
                cursor += 1
            }
            return (group, name)
        }
    }

    /// The byte ranges of the groups (`[0]` the whole match, nil for a group that did not take
    /// part) of the first match in `subject`, or nil if there is none or matching failed.
    /// Allocates its own match data, so any thread may call it.
    public func firstMatch(in subject: UnsafeRawBufferPointer) -> [Range<Int>?]? {
        guard let matchData = pcre2_match_data_create_from_pattern_8(pointer, nil) else { return nil }
        defer { pcre2_match_data_free_8(matchData) }
        let bytes = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? RegexSubject.empty
        guard pcre2_match_8(pointer, bytes, subject.count, 0, 0, matchData, nil) > 0 else { return nil }
        let vector = pcre2_get_ovector_pointer_8(matchData)!
        return (0...groupCount).map { group in
            let start = vector[2 * group], end = vector[2 * group + 1]
            return start >= 0 && end >= start ? start..<end : nil
        }
    }
}

/// A compile failure in the reference's words.
public struct RegexCompileError: Error, Sendable {
    /// The message as bytes: it quotes the pattern, which need not be UTF-8 (the reference
    /// hands Lua the pattern's bytes unchanged).
    public let bytes: [UInt8]
    /// PCRE2's own words for the problem (what nginx's configuration errors quote).
    public let reason: String
    /// The message as text (invalid UTF-8 in the quoted pattern replaced), for Swift callers.
    public var message: String { String(decoding: bytes, as: UTF8.self) }

    init(message: String) {
        bytes = Array(message.utf8)
        reason = message
    }

    init(code: Int32, offset: Int, pattern: UnsafeRawBufferPointer) {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        reason = String(decoding: buffer.prefix(max(0, Int(length))), as: UTF8.self)
        var text = Array("pcre2_compile() failed: ".utf8)
        text += buffer.prefix(max(0, Int(length)))
        text += Array(" in \"".utf8)
        text += pattern
        text.append(UInt8(ascii: "\""))
        if offset < pattern.count {
            // The rest of the pattern as C reads it: up to a NUL byte.
            text += Array(" at \"".utf8)
            text += pattern[offset...].prefix { $0 != 0 }
            text.append(UInt8(ascii: "\""))
        }
        bytes = Array(text.prefix(CompiledRegex.maximumErrorLength))
    }
}

enum RegexSubject {
    /// A valid address for empty subjects and patterns (PCRE2 10.42 refuses a null one).
    nonisolated(unsafe) static let empty = UnsafePointer<UInt8>(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
}
