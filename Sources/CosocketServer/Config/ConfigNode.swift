/// One directive of the parsed configuration (the AST).
///
/// `include` directives never appear: like nginx, the parser replaces them with
/// the directives of the included files, each keeping its own `file`/`line` so
/// later errors point at the right place.
public struct ConfigNode: Sendable, Hashable {
    /// What follows the arguments: `;`, a `{ ... }` block of directives, or the
    /// raw Lua source of a `*_by_lua_block`.
    public enum Body: Sendable, Hashable {
        case none
        case block([ConfigNode])
        case lua(ConfigLuaBlock)
    }

    /// The first word, e.g. `location` (already unquoted/unescaped).
    public var name: String
    /// The remaining words, unquoted and with nginx's escapes (`\"` `\'` `\\`
    /// `\n` `\r` `\t`) applied. `$var` / `${var}` are kept verbatim for the
    /// script layer to compile.
    public var arguments: [String]
    public var body: Body
    /// File the directive was read from (the included file, for included ones).
    public var file: String
    /// The line nginx reports for this directive: where its terminating `;` or
    /// `{` is. Use it for "... in file:line" errors so they match `nginx -t`.
    public var line: Int
    /// The line of the directive's first word (differs from `line` only for
    /// directives spanning several lines).
    public var startLine: Int

    public init(name: String, arguments: [String] = [], body: Body = .none,
                file: String, line: Int, startLine: Int? = nil) {
        self.name = name
        self.arguments = arguments
        self.body = body
        self.file = file
        self.line = line
        self.startLine = startLine ?? line
    }

    /// The nested directives if this is a `{ ... }` block directive.
    public var children: [ConfigNode]? {
        if case .block(let nodes) = body { return nodes }
        return nil
    }

    /// The Lua code if this is a `*_by_lua_block` directive.
    public var luaBlock: ConfigLuaBlock? {
        if case .lua(let block) = body { return block }
        return nil
    }

    /// Directly nested directives called `name`, in configuration order.
    public func children(named name: String) -> [ConfigNode] {
        (children ?? []).filter { $0.name == name }
    }

    /// Builds an error positioned at this directive (nginx's `file:line`).
    public func error(_ kind: ConfigError.Kind) -> ConfigError {
        ConfigError(kind, file: file, line: line)
    }
}

/// Raw Lua source of a `*_by_lua_block { ... }` directive.
///
/// Kept as the exact bytes between the braces so the Lua loader sees what the
/// author wrote; `line` lets Lua error messages report the config line
/// (Lua line `n` of the chunk is config line `line + n - 1`).
public struct ConfigLuaBlock: Sendable, Hashable {
    /// Bytes between `{` and the matching `}` (exclusive), untouched.
    public var source: [UInt8]
    /// The config line holding the opening `{` (line 1 of the chunk), which is
    /// also what ngx_lua uses in chunk names like `=content_by_lua(nginx.conf:12)`.
    public var line: Int

    public init(source: [UInt8], line: Int) {
        self.source = source
        self.line = line
    }

    /// The source as a String (invalid UTF-8 is repaired; use `source` for
    /// byte-exact loading).
    public var text: String { String(decoding: source, as: UTF8.self) }
}

extension [ConfigNode] {
    /// Directives called `name` at this level, in configuration order.
    public func named(_ name: String) -> [ConfigNode] { filter { $0.name == name } }
}
