import CPCRE2

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
