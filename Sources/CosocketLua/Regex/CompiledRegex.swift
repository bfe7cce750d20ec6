import CPCRE2

/// One compiled pattern with its match data: what `ngx.re.*`, the host's regex locations and
/// the FFI seam match with. Matching writes the match data, so an instance belongs to one
/// worker (one thread) and one match at a time.
public final class CompiledRegex {
    let code: OpaquePointer
    let matchData: OpaquePointer
    public let options: RegexOptions
    /// Capture groups the pattern has (0 in DFA mode, which reports only the whole match).
    public let captureCount: Int
    /// Named groups in PCRE2's name-table order: (group number, name bytes).
    public let names: [(group: Int, name: [UInt8])]
    /// The replacement template compiled with it (``RegexCache`` keys sub/gsub entries by it).
    var template: RegexTemplate?

    /// The longest compile error the reference reports: it formats into a 128-byte buffer.
    static let maximumErrorLength = 127

    private init(code: OpaquePointer, matchData: OpaquePointer, options: RegexOptions, captureCount: Int, names: [(group: Int, name: [UInt8])]) {
        self.code = code
        self.matchData = matchData
        self.options = options
        self.captureCount = captureCount
        self.names = names
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// Compiles `pattern`; a failure is the reference's message,
    /// `pcre2_compile() failed: <reason> in "<pattern>" at "<rest>"`, cut to 127 bytes.
    public static func compile(_ pattern: UnsafeRawBufferPointer, options: RegexOptions) -> Result<CompiledRegex, RegexCompileError> {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = pattern.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? RegexSubject.empty
        // The reference hands PCRE a C string: a pattern ends at its first NUL byte.
        let length = pattern.firstIndex(of: 0) ?? pattern.count
        guard let code = pcre2_compile_8(bytes, length, options.compileOptions, &errorCode, &errorOffset, nil) else {
            return .failure(RegexCompileError(code: errorCode, offset: errorOffset, pattern: pattern))
        }
        if options.jit { _ = pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) }
        var groups: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &groups)
        let captureCount = options.dfa ? 0 : Int(groups)
        guard let matchData = pcre2_match_data_create_8(UInt32(captureCount + 1), nil) else {
            pcre2_code_free_8(code)
            return .failure(RegexCompileError(message: "no memory"))
        }
        return .success(CompiledRegex(code: code, matchData: matchData, options: options, captureCount: captureCount, names: nameTable(code)))
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
            while cursor.pointee != 0 && cursor < entry + Int(entrySize) {
                name.append(cursor.pointee)
                cursor += 1
            }
            return (group, name)
        }
    }

    /// Matches `subject` from byte `offset` and returns the reference's return code (see
    /// ``RegexStatus``): the number of the highest group set plus one, or a PCRE1 error number.
    public func match(_ subject: UnsafeRawBufferPointer, from offset: Int, context: RegexMatchContext) -> Int32 {
        // The reference hands PCRE an offset past the end and gets "no match".
        guard offset >= 0, offset <= subject.count else { return RegexStatus.noMatch }
        let bytes = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? RegexSubject.empty
        let matchOptions = options.skipUTFCheck ? PCRE2_NO_UTF_CHECK : 0
        let rc: Int32
        if options.dfa {
            // The reference's DFA workspace: 1000 ints, no match limit.
            rc = withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1000) { workspace in
                pcre2_dfa_match_8(code, bytes, subject.count, offset, matchOptions, matchData, nil, workspace.baseAddress, 1000)
            }
        } else {
            rc = pcre2_match_8(code, bytes, subject.count, offset, matchOptions, matchData, context.pointer)
        }
        return RegexStatus.reference(rc)
    }

    /// The byte range of `group` in the last match, `nil` when the group did not take part.
    @inline(__always)
    public func range(of group: Int) -> Range<Int>? {
        guard group >= 0, group <= captureCount else { return nil }
        let vector = pcre2_get_ovector_pointer_8(matchData)!
        let start = vector[2 * group]
        let end = vector[2 * group + 1]
        // PCRE2_UNSET (all bits set) reads as -1 through Swift's `Int` for size_t.
        guard start >= 0, end >= 0, start <= end else { return nil }
        return start..<end
    }
}

/// A compile failure in the reference's words.
public struct RegexCompileError: Error, Sendable {
    public let message: String

    init(message: String) { self.message = message }

    init(code: Int32, offset: Int, pattern: UnsafeRawBufferPointer) {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
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
        message = String(decoding: text.prefix(CompiledRegex.maximumErrorLength), as: UTF8.self)
    }
}

enum RegexSubject {
    /// A valid address for empty subjects and patterns (PCRE2 10.42 refuses a null one).
    nonisolated(unsafe) static let empty = UnsafePointer<UInt8>(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
}

/// Return codes as the reference (built with PCRE1) reports them in `pcre_exec() failed: N`.
public enum RegexStatus {
    public static let noMatch: Int32 = -1

    /// PCRE2's code translated to the PCRE1 number for the same condition.
    static func reference(_ rc: Int32) -> Int32 {
        if rc >= 0 { return rc }
        switch rc {
        case PCRE2_ERROR_NOMATCH, PCRE2_ERROR_BADOFFSET: return noMatch
        case PCRE2_ERROR_UTF8_ERR21...PCRE2_ERROR_UTF8_ERR1: return -10  // PCRE_ERROR_BADUTF8
        case PCRE2_ERROR_BADUTFOFFSET: return -11  // PCRE_ERROR_BADUTF8_OFFSET
        case PCRE2_ERROR_MATCHLIMIT: return -8  // PCRE_ERROR_MATCHLIMIT
        case PCRE2_ERROR_DEPTHLIMIT: return -21  // PCRE_ERROR_RECURSIONLIMIT
        case PCRE2_ERROR_NOMEMORY, PCRE2_ERROR_HEAPLIMIT: return -6  // PCRE_ERROR_NOMEMORY
        case PCRE2_ERROR_JIT_STACKLIMIT: return -27  // PCRE_ERROR_JIT_STACKLIMIT
        case PCRE2_ERROR_DFA_WSSIZE: return -19  // PCRE_ERROR_DFA_WSSIZE
        case PCRE2_ERROR_DFA_UITEM: return -16  // PCRE_ERROR_DFA_UITEM
        case PCRE2_ERROR_DFA_RECURSE: return -20  // PCRE_ERROR_DFA_RECURSE
        default: return rc
        }
    }
}

/// A worker's PCRE2 match context: `lua_regex_match_limit` and the JIT stack
/// (`ngx.re.opt("jit_stack_size", n)`), shared by all its matches.
public final class RegexMatchContext {
    let pointer: OpaquePointer?
    private var jitStack: OpaquePointer?
    /// The reference's smallest JIT stack.
    static let minimumJITStackSize = 32 * 1024

    /// `matchLimit` 0 keeps PCRE2's default (10 million), as the reference does.
    public init(matchLimit: Int = 0) {
        pointer = pcre2_match_context_create_8(nil)
        if let pointer, matchLimit > 0 { pcre2_set_match_limit_8(pointer, UInt32(clamping: matchLimit)) }
    }

    deinit {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        if let pointer { pcre2_match_context_free_8(pointer) }
    }

    /// Gives JIT matches a stack of `size` bytes (at least 32 KiB); false if it cannot be had.
    public func setJITStackSize(_ size: Int) -> Bool {
        let size = max(size, Self.minimumJITStackSize)
        guard let stack = pcre2_jit_stack_create_8(Self.minimumJITStackSize, size, nil) else { return false }
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        jitStack = stack
        pcre2_jit_stack_assign_8(pointer, nil, UnsafeMutableRawPointer(stack))
        return true
    }
}
