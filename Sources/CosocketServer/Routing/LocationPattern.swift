import CosocketLua

/// The URI pattern of a `location` directive, read as `ngx_http_core_location`
/// reads its arguments (so `location =/x`, `location ~*\.gif$` and
/// `location = /x` all work, and `location ^~/x` is — as in nginx — a plain
/// prefix named `^~/x`).
public struct LocationPattern: Sendable, Hashable, CustomStringConvertible {
    public enum Modifier: Sendable, Hashable {
        /// `location = /x` — only this URI; wins immediately.
        case exact
        /// `location /x` — longest matching prefix, regexes may override it.
        case prefix
        /// `location ^~ /x` — prefix that, if longest, disables regex checks.
        case prefixNoRegex
        /// `location ~ re` — case-sensitive regex, tried in config order.
        case regex
        /// `location ~* re` — case-insensitive regex.
        case caseInsensitiveRegex
        /// `location @name` — not matched against URIs; used by
        /// `error_page`, `try_files`, `ngx.exec` etc.
        case named
    }

    public var modifier: Modifier
    /// The URI / prefix, the regex source, or `@name` for named locations
    /// (nginx's `clcf->name`, which is also what its error messages quote).
    public var name: String

    public init(_ modifier: Modifier, _ name: String) {
        self.modifier = modifier
        self.name = name
    }

    /// Parses the arguments of a `location` directive (without the word
    /// `location`). `file`/`line` position the errors.
    public init(arguments: [String], file: String? = nil, line: Int? = nil) throws(ConfigError) {
        switch arguments.count {
        case 2:
            let (mod, name) = (arguments[0], arguments[1])
            switch mod {
            case "=": self.init(.exact, name)
            case "^~": self.init(.prefixNoRegex, name)
            case "~": self.init(.regex, name)
            case "~*": self.init(.caseInsensitiveRegex, name)
            default: throw ConfigError(.invalidLocationModifier(mod), file: file, line: line)
            }
        case 1:
            let arg = arguments[0]
            if arg.hasPrefix("=") {
                self.init(.exact, String(arg.dropFirst()))
            } else if arg.hasPrefix("~*") {
                self.init(.caseInsensitiveRegex, String(arg.dropFirst(2)))
            } else if arg.hasPrefix("~") {
                self.init(.regex, String(arg.dropFirst()))
            } else if arg.hasPrefix("@") {
                self.init(.named, arg)
            } else {
                self.init(.prefix, arg)
            }
        default:
            throw ConfigError(.invalidArgumentCount("location"), file: file, line: line)
        }
    }

    /// Parses a `location` directive node.
    public init(directive node: ConfigNode) throws(ConfigError) {
        try self.init(arguments: node.arguments, file: node.file, line: node.line)
    }

    public var isRegex: Bool { modifier == .regex || modifier == .caseInsensitiveRegex }

    /// As written in a config file, e.g. `~* \.(gif|jpg)$`.
    public var description: String {
        switch modifier {
        case .exact: return "= \(name)"
        case .prefix, .named: return name
        case .prefixNoRegex: return "^~ \(name)"
        case .regex: return "~ \(name)"
        case .caseInsensitiveRegex: return "~* \(name)"
        }
    }
}

/// Captures of the location regex that selected a location — what nginx
/// exposes as `$1`..`$9` and as named variables (`(?<name>...)`).
public struct LocationCaptures: Sendable, Hashable {
    /// `groups[0]` is the whole match, `groups[n]` is `$n`; nil for a group
    /// that did not participate. Empty when no regex was involved.
    public var groups: [String?]
    /// Named groups, `(?<name>...)` / `(?P<name>...)`.
    public var named: [String: String]

    public init(groups: [String?] = [], named: [String: String] = [:]) {
        self.groups = groups
        self.named = named
    }

    /// No captures (prefix and exact matches).
    public static let none = LocationCaptures()

    /// `$n`; nil when out of range or unset (nginx renders both as "").
    public subscript(_ n: Int) -> String? { n >= 0 && n < groups.count ? groups[n] : nil }
    public subscript(_ name: String) -> String? { named[name] }

    /// What a request sees after `location` captures follow `server_name` ones: the last
    /// regex that matched sets `$1`..; named ones accumulate, later ones winning.
    public func followed(by later: LocationCaptures) -> LocationCaptures {
        if later.groups.isEmpty && later.named.isEmpty { return self }
        if groups.isEmpty && named.isEmpty { return later }
        return LocationCaptures(groups: later.groups.isEmpty ? groups : later.groups, named: named.merging(later.named) { $1 })
    }
}

/// A compiled `location ~`/`~*` or `server_name ~` regex, on PCRE2 as nginx's are, shared by
/// all workers (``RegexCode`` matches from any thread).
final class HostRegex: Sendable {
    let code: RegexCode
    /// Group names by group number.
    private let groupNames: [(group: Int, name: String)]

    /// Throws nginx's configuration error for a pattern that does not compile.
    init(_ source: String, caseless: Bool, file: String? = nil, line: Int? = nil) throws(ConfigError) {
        var bytes = Array(source.utf8)
        let compiled = bytes.withUnsafeMutableBytes { RegexCode.compile(UnsafeRawBufferPointer($0), options: caseless ? RegexCode.caseless : 0, jit: true) }
        switch compiled {
        case .success(let code):
            self.code = code
            groupNames = code.names.map { ($0.group, String(decoding: $0.name, as: UTF8.self)) }
        case .failure(let error):
            throw ConfigError(.regexCompileFailed(pattern: source, message: error.message), file: file, line: line)
        }
    }

    convenience init(_ pattern: LocationPattern, file: String?, line: Int?) throws(ConfigError) {
        try self.init(pattern.name, caseless: pattern.modifier == .caseInsensitiveRegex, file: file, line: line)
    }

    /// Captures if the regex matches anywhere in `subject` (unanchored, as PCRE).
    func match(_ subject: String) -> LocationCaptures? {
        var subject = subject
        return subject.withUTF8 { bytes -> LocationCaptures? in
            guard let ranges = code.firstMatch(in: UnsafeRawBufferPointer(bytes)) else { return nil }
            func text(_ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }
            var named: [String: String] = [:]
            for (group, name) in groupNames {
                if let value = text(ranges[group]) { named[name] = value }
            }
            return LocationCaptures(groups: ranges.map(text), named: named)
        }
    }
}
