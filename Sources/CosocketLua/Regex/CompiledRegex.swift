import CPCRE2

/// The raw pointers a match needs, as a plain value: copying it retains nothing, so the FFI
/// door resty.core calls per match (``ngx_http_lua_ffi_exec_regex``) runs without reference
/// counting (retains and releases were a sixth of a `jo` match there). Valid while the
/// ``CompiledRegex`` it came from lives.
struct RegexMatcher {
    let code: OpaquePointer
    let matchData: OpaquePointer
    /// Capture groups reported (0 in DFA mode, which reports only the whole match).
    let captureCount: Int
    let dfa: Bool
    /// ``RegexCode/directJIT``.
    let directJIT: Bool

    /// Matches `subject` from byte `offset` and returns the reference's return code (see
    /// ``RegexStatus``): the number of the highest group set plus one, or a PCRE1 error number.
    /// `context`: the worker's match limit and JIT stack (nil: PCRE2's defaults).
    @inline(__always)
    func match(_ subject: UnsafeRawBufferPointer, from offset: Int, context: OpaquePointer?) -> Int32 {
        // The reference hands PCRE an offset past the end and gets "no match".
        guard offset >= 0, offset <= subject.count else { return RegexStatus.noMatch }
        let bytes = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? RegexSubject.empty
        let rc: Int32
        if dfa {
            rc = dfaMatch(bytes, subject.count, from: offset)
        } else if directJIT {
            // The offset is checked above; the match limit and JIT stack are the context's.
            rc = pcre2_jit_match_8(code, bytes, subject.count, offset, 0, matchData, context)
        } else {
            rc = pcre2_match_8(code, bytes, subject.count, offset, 0, matchData, context)
        }
        return rc >= 0 ? rc : RegexStatus.reference(rc)
    }

    /// Apart, so that its 4 KB workspace is not in every match's stack frame.
    @inline(never)
    private func dfaMatch(_ bytes: UnsafePointer<UInt8>, _ length: Int, from offset: Int) -> Int32 {
        // The reference's DFA workspace: 1000 ints, no match limit.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1000) { workspace in
            pcre2_dfa_match_8(code, bytes, length, offset, 0, matchData, nil, workspace.baseAddress, 1000)
        }
    }

    /// Writes the last match's offsets, start and end of groups 0 through ``captureCount``,
    /// into `offsets` (at least `2 * (captureCount + 1)` ints), -1 for a group that did not take
    /// part, as PCRE1's ovector reads.
    @inline(__always)
    func copyOffsets(into offsets: UnsafeMutablePointer<Int32>) {
        guard let vector = pcre2_get_ovector_pointer_8(matchData) else { return }
        var index = 0
        let end = 2 &* (captureCount &+ 1)
        while index < end {
            defer { index &+= 1 }
            let value = vector[index]
            // PCRE2_UNSET (SIZE_MAX) reads as -1 through Swift's `Int`; offsets past Int32's
            // range are cut as the reference's ints are.
            offsets[index] = value < 0 ? -1 : Int32(truncatingIfNeeded: value)
        }
    }
}

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

    /// This pattern's pointers for matching.
    let matcher: RegexMatcher

    private init(code: RegexCode, matchData: OpaquePointer, options: RegexOptions) {
        self.code = code
        self.matchData = matchData
        self.options = options
        captureCount = options.dfa ? 0 : code.groupCount
        matcher = RegexMatcher(code: code.pointer, matchData: matchData, captureCount: captureCount, dfa: options.dfa, directJIT: code.directJIT)
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

    /// Matches `subject` from byte `offset` (see ``RegexMatcher/match(_:from:context:)``).
    public func match(_ subject: UnsafeRawBufferPointer, from offset: Int, context: RegexMatchContext) -> Int32 {
        matcher.match(subject, from: offset, context: context.pointer)
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
