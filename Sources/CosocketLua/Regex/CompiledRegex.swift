import CPCRE2

/// A pattern compiled for `ngx.re` with its match data: matching writes the match data, so an
/// instance belongs to one worker (one thread) and one match at a time.
public final class CompiledRegex {
    let code: RegexCode
    let matchData: OpaquePointer
    public let options: RegexOptions
    /// Capture groups reported (0 in DFA mode, which reports only the whole match).
    public let captureCount: Int
    public var names: [(group: Int, name: [UInt8])] { code.names }
    /// The replacement template compiled with it (``RegexCache`` keys sub/gsub entries by it).
    var template: RegexTemplate?

    /// The longest compile error the reference reports: it formats into a 128-byte buffer.
    static let maximumErrorLength = 127

    private init(code: RegexCode, matchData: OpaquePointer, options: RegexOptions) {
        self.code = code
        self.matchData = matchData
        self.options = options
        captureCount = options.dfa ? 0 : code.groupCount
    }

    deinit { pcre2_match_data_free_8(matchData) }

    /// Compiles `pattern` with the options of `ngx.re`.
    public static func compile(_ pattern: UnsafeRawBufferPointer, options: RegexOptions) -> Result<CompiledRegex, RegexCompileError> {
        let code: RegexCode
        switch RegexCode.compile(pattern, options: options.compileOptions, jit: options.jit) {
        case .success(let compiled): code = compiled
        case .failure(let error): return .failure(error)
        }
        let pairs = options.dfa ? 1 : code.groupCount + 1
        guard let matchData = pcre2_match_data_create_8(UInt32(pairs), nil) else {
            return .failure(RegexCompileError(message: "no memory"))
        }
        return .success(CompiledRegex(code: code, matchData: matchData, options: options))
    }

    /// Matches `subject` from byte `offset` and returns the reference's return code (see
    /// ``RegexStatus``): the number of the highest group set plus one, or a PCRE1 error number.
    public func match(_ subject: UnsafeRawBufferPointer, from offset: Int, context: RegexMatchContext) -> Int32 {
        // The reference hands PCRE an offset past the end and gets "no match".
        guard offset >= 0, offset <= subject.count else { return RegexStatus.noMatch }
        let bytes = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? RegexSubject.empty
        let rc: Int32
        if options.dfa {
            // The reference's DFA workspace: 1000 ints, no match limit.
            rc = withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1000) { workspace in
                pcre2_dfa_match_8(code.pointer, bytes, subject.count, offset, 0, matchData, nil, workspace.baseAddress, 1000)
            }
        } else {
            rc = pcre2_match_8(code.pointer, bytes, subject.count, offset, 0, matchData, context.pointer)
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
