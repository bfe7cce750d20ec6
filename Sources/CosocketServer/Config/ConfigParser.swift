/// Parses nginx.conf syntax into `ConfigNode`s, the way `ngx_conf_parse` does.
///
/// What it does beyond tokenizing (see `ConfigLexer`):
/// * `include <path|glob>;` is expanded in place at parse time. Relative paths
///   resolve against the conf prefix (nginx: the directory of the main config
///   file given with `-c`), not against the including file. Each included file
///   is parsed on its own, so a `}` in it cannot close a block of the includer
///   (`unexpected "}"`) and an unfinished directive at its end is an error in
///   that file.
/// * Any directive whose name ends in `_by_lua_block` must open a block, whose
///   body is read as raw Lua (see `ConfigLuaScanner.swift`).
/// * No directive-name validation: unknown directives are for the validation
///   layer, which can report them with `ConfigError.Kind.unknownDirective`.
public struct ConfigParser: Sendable {
    public var fileSystem: ConfigFileSystem
    /// Directory that relative `include` paths resolve against; nil means the
    /// directory of the file given to `parseFile` (nginx's behaviour with `-c`).
    public var prefix: String?
    /// Guards against include cycles (nginx would fail with EMFILE instead).
    public var maxIncludeDepth = 32
    /// Guards against stack exhaustion on pathological nesting.
    public var maxBlockDepth = 200

    public init(fileSystem: ConfigFileSystem = .local, prefix: String? = nil) {
        self.fileSystem = fileSystem
        self.prefix = prefix
    }

    /// Reads and parses the main configuration file. Throws `ConfigError`.
    public func parseFile(_ path: String) throws(ConfigError) -> [ConfigNode] {
        // Like nginx, failing to open the main file has no "in file:line".
        let bytes = try read(path, from: nil, line: nil)
        return try parse(bytes: bytes, file: path)
    }

    /// Parses configuration text; `file` is used for error positions and, when
    /// `prefix` is nil, for resolving relative includes.
    public func parse(_ source: String, file: String = "nginx.conf") throws(ConfigError) -> [ConfigNode] {
        try parse(bytes: Array(source.utf8), file: file)
    }

    /// Byte-exact variant of `parse(_:file:)`.
    public func parse(bytes: [UInt8], file: String) throws(ConfigError) -> [ConfigNode] {
        var lexer = ConfigLexer(bytes: bytes, file: file)
        return try parseBody(&lexer, confPrefix: Self.confPrefix(prefix: prefix, mainFile: file),
                             includeDepth: 0, blockDepth: 0)
    }

    /// nginx's conf_prefix: ends with "/" (or is empty: relative to the cwd).
    /// That is the directory of the main file (`nginx -p /srv -c conf/nginx.conf` includes
    /// `sites/*.conf` from `/srv/conf/sites/`); text with no file of its own (`-g`) resolves
    /// against `prefix`.
    public static func confPrefix(prefix: String?, mainFile: String) -> String {
        if let slash = mainFile.lastIndex(of: "/") { return String(mainFile[...slash]) }
        guard let prefix else { return "" }
        return prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    private struct Frame {
        var statement: ConfigStatement?
        var children: [ConfigNode] = []
    }

    private func parseBody(_ lexer: inout ConfigLexer, confPrefix: String,
                           includeDepth: Int, blockDepth: Int) throws(ConfigError) -> [ConfigNode] {
        var stack = [Frame(statement: nil)]
        while true {
            switch try lexer.next() {
            case .endOfFile:
                if stack.count > 1 { throw lexer.error(.unexpectedEndOfFileExpectingBrace) }
                return stack[0].children

            case .blockEnd:
                guard stack.count > 1, let statement = stack[stack.count - 1].statement else {
                    throw lexer.error(.unexpected("}"))
                }
                let frame = stack.removeLast()
                let node = makeNode(statement, body: .block(frame.children), file: lexer.file)
                stack[stack.count - 1].children.append(node)

            case .statement(let statement):
                guard let name = statement.words.first else { throw lexer.error(.unexpected(";")) }
                if name == "include" {
                    let nodes = try include(statement, lexer: lexer, confPrefix: confPrefix,
                                            includeDepth: includeDepth, blockDepth: blockDepth + stack.count - 1)
                    stack[stack.count - 1].children.append(contentsOf: nodes)
                } else if name.hasSuffix("_by_lua_block") {
                    guard statement.terminator == .blockStart else {
                        throw lexer.error(.directiveHasNoOpeningBrace(name), line: statement.line)
                    }
                    let lua = try lexer.readLuaBlock()
                    stack[stack.count - 1].children.append(makeNode(statement, body: .lua(lua), file: lexer.file))
                } else if statement.terminator == .blockStart {
                    guard blockDepth + stack.count <= maxBlockDepth else {
                        throw lexer.error(.blockTooDeep(limit: maxBlockDepth), line: statement.line)
                    }
                    stack.append(Frame(statement: statement))
                } else {
                    stack[stack.count - 1].children.append(makeNode(statement, body: .none, file: lexer.file))
                }
            }
        }
    }

    private func makeNode(_ s: ConfigStatement, body: ConfigNode.Body, file: String) -> ConfigNode {
        ConfigNode(name: s.words.first ?? "", arguments: Array(s.words.dropFirst()), body: body,
                   file: file, line: s.line, startLine: s.startLine)
    }

    /// `ngx_conf_include`: one argument, `;`-terminated, glob or plain path.
    private func include(_ s: ConfigStatement, lexer: ConfigLexer, confPrefix: String,
                         includeDepth: Int, blockDepth: Int) throws(ConfigError) -> [ConfigNode] {
        guard s.terminator == .semicolon else {
            throw lexer.error(.directiveNotTerminated("include"), line: s.line)
        }
        guard s.words.count == 2 else {
            throw lexer.error(.invalidArgumentCount("include"), line: s.line)
        }
        let path = s.words[1].hasPrefix("/") ? s.words[1] : confPrefix + s.words[1]
        guard includeDepth < maxIncludeDepth else {
            throw lexer.error(.includeTooDeep(path: path, limit: maxIncludeDepth), line: s.line)
        }
        let files = ConfigGlob.hasMagic(path) ? ConfigGlob.expand(path, listDirectory: fileSystem.listDirectory) : [path]
        var nodes: [ConfigNode] = []
        for file in files {
            var sub = ConfigLexer(bytes: try read(file, from: lexer.file, line: s.line), file: file)
            nodes += try parseBody(&sub, confPrefix: confPrefix, includeDepth: includeDepth + 1, blockDepth: blockDepth)
        }
        return nodes
    }

    private func read(_ path: String, from file: String?, line: Int?) throws(ConfigError) -> [UInt8] {
        do {
            return try fileSystem.readFile(path)
        } catch let e as ConfigFileError {
            throw ConfigError(.fileOperationFailed(operation: e.operation, path: path, reason: "\(e.code): \(e.reason)"),
                              file: file, line: line)
        } catch {
            throw ConfigError(.fileOperationFailed(operation: "open()", path: path, reason: String(describing: error)),
                              file: file, line: line)
        }
    }
}
