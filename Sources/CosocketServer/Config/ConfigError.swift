/// A configuration error, worded the way nginx words it so that operators can
/// search for the same text they know from `nginx -t`.
///
/// `description` is `"<message> in <file>:<line>"` (nginx's `ngx_conf_log_error`
/// format), or just `"<message>"` when there is no position (e.g. the main
/// file cannot be opened, as in nginx).
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; `message` renders each case in nginx's words.
    public enum Kind: Sendable, Hashable {
        // Syntax (ngx_conf_file.c).
        /// `unexpected "X"` — a `;`, `{` or `}` in the wrong place, or a
        /// character glued to a closing quote.
        case unexpected(String)
        /// `unexpected end of file, expecting ";" or "}"`
        case unexpectedEndOfFile
        /// `unexpected end of file, expecting "}"`
        case unexpectedEndOfFileExpectingBrace
        // Directive checks (ngx_conf_handler); the parser raises these for
        // `include` and `*_by_lua_block`, the validation layer for the rest.
        /// `unknown directive "foo"`
        case unknownDirective(String)
        /// `"foo" directive is not allowed here`
        case directiveNotAllowedHere(String)
        /// `directive "foo" is not terminated by ";"`
        case directiveNotTerminated(String)
        /// `directive "foo" has no opening "{"`
        case directiveHasNoOpeningBrace(String)
        /// `invalid number of arguments in "foo" directive`
        case invalidArgumentCount(String)
        /// `"foo" directive <message>` — how nginx reports a handler's
        /// complaint, e.g. `"keepalive_timeout" directive invalid value`.
        case directive(name: String, message: String)
        /// An on/off directive given something else, in nginx's words.
        case invalidFlag(name: String, value: String)
        /// A handler's complaint that nginx words without the directive's name, e.g.
        /// `duplicate thread pool "p"`.
        case invalid(String)
        /// `<operation> "<path>" failed (<reason>)`, e.g.
        /// `open() "/etc/nginx/x.conf" failed (2: No such file or directory)`.
        case fileOperationFailed(operation: String, path: String, reason: String)
        /// `include nesting too deep (more than N levels) at "<path>"` — our
        /// guard against include cycles (nginx would run out of descriptors).
        case includeTooDeep(path: String, limit: Int)
        /// `block nesting too deep (more than N levels)` — our guard against
        /// stack exhaustion on absurd input; nginx has no such limit.
        case blockTooDeep(limit: Int)
        // Lua blocks (ngx_http_lua_directive.c).
        /// `unexpected end of file, expecting terminating characters for lua code block`
        case unexpectedEndOfLuaBlock
        /// `Lua code block missing the closing long bracket "]==]", the inlined Lua code may be too long`
        case luaLongBracketNotClosed(String)
        // Locations (ngx_http_core_module.c).
        /// `invalid location modifier "X"`
        case invalidLocationModifier(String)
        /// `duplicate location "/x"`
        case duplicateLocation(String)
        /// `location "X" cannot be inside the exact location "Y"`
        case locationInsideExact(location: String, parent: String)
        /// `location "X" cannot be inside the named location "Y"`
        case locationInsideNamed(location: String, parent: String)
        /// `named location "@x" can be on the server level only`
        case namedLocationNotOnServerLevel(String)
        /// `location "X" is outside location "Y"`
        case locationOutside(location: String, parent: String)
        /// nginx's `pcre2_compile() failed: <reason> in "<pattern>"[ at "<rest>"]`, PCRE2's
        /// whole message (``RegexCompileError/message``) in `message`.
        case regexCompileFailed(pattern: String, message: String)
        /// Free-form message, for checks that have no dedicated case.
        case other(String)
    }

    public var kind: Kind
    /// File the error refers to; nil when nginx reports no position.
    public var file: String?
    /// 1-based line, counted the way nginx counts (LF characters seen so far).
    public var line: Int?

    public init(_ kind: Kind, file: String? = nil, line: Int? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
    }

    /// The message without the position suffix.
    public var message: String {
        switch kind {
        case .unexpected(let s): return "unexpected \"\(s)\""
        case .unexpectedEndOfFile: return "unexpected end of file, expecting \";\" or \"}\""
        case .unexpectedEndOfFileExpectingBrace: return "unexpected end of file, expecting \"}\""
        case .unknownDirective(let n): return "unknown directive \"\(n)\""
        case .directiveNotAllowedHere(let n): return "\"\(n)\" directive is not allowed here"
        case .directiveNotTerminated(let n): return "directive \"\(n)\" is not terminated by \";\""
        case .directiveHasNoOpeningBrace(let n): return "directive \"\(n)\" has no opening \"{\""
        case .invalidArgumentCount(let n): return "invalid number of arguments in \"\(n)\" directive"
        case .directive(let n, let m): return "\"\(n)\" directive \(m)"
        case .invalidFlag(let n, let v): return "invalid value \"\(v)\" in \"\(n)\" directive, it must be \"on\" or \"off\""
        case .invalid(let m): return m
        case .fileOperationFailed(let op, let path, let reason): return "\(op) \"\(path)\" failed (\(reason))"
        case .includeTooDeep(let path, let limit):
            return "include nesting too deep (more than \(limit) levels) at \"\(path)\""
        case .blockTooDeep(let limit): return "block nesting too deep (more than \(limit) levels)"
        case .unexpectedEndOfLuaBlock:
            return "unexpected end of file, expecting terminating characters for lua code block"
        case .luaLongBracketNotClosed(let b):
            return "Lua code block missing the closing long bracket \"\(b)\", the inlined Lua code may be too long"
        case .invalidLocationModifier(let m): return "invalid location modifier \"\(m)\""
        case .duplicateLocation(let n): return "duplicate location \"\(n)\""
        case .locationInsideExact(let l, let p): return "location \"\(l)\" cannot be inside the exact location \"\(p)\""
        case .locationInsideNamed(let l, let p): return "location \"\(l)\" cannot be inside the named location \"\(p)\""
        case .namedLocationNotOnServerLevel(let n): return "named location \"\(n)\" can be on the server level only"
        case .locationOutside(let l, let p): return "location \"\(l)\" is outside location \"\(p)\""
        case .regexCompileFailed(_, let message): return message
        case .other(let m): return m
        }
    }

    public var description: String {
        guard let file, let line else { return message }
        return "\(message) in \(file):\(line)"
    }
}
