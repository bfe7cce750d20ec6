import Foundation

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
}

/// A compiled location regex. NSRegularExpression (ICU) is close enough to
/// PCRE for location patterns; PCRE's `(?P<name>` is rewritten to `(?<name>`.
/// NSRegularExpression is immutable and documented thread-safe, hence
/// `@unchecked Sendable`.
final class LocationRegex: @unchecked Sendable {
    let regex: NSRegularExpression
    let groupNames: [String]

    init(_ pattern: LocationPattern, file: String?, line: Int?) throws(ConfigError) {
        let source = pattern.name.replacingOccurrences(of: "(?P<", with: "(?<")
        var options: NSRegularExpression.Options = []
        if pattern.modifier == .caseInsensitiveRegex { options.insert(.caseInsensitive) }
        do {
            regex = try NSRegularExpression(pattern: source, options: options)
        } catch {
            throw ConfigError(.regexCompileFailed(pattern: pattern.name, reason: Self.reason(error)), file: file, line: line)
        }
        groupNames = Self.groupNames(in: source)
    }

    private static func reason(_ error: Error) -> String {
        let text = (error as NSError).localizedDescription
        return text.isEmpty ? "invalid pattern" : text
    }

    /// Names of `(?<name>` / `(?'name'` groups, skipping escapes and classes.
    static func groupNames(in source: String) -> [String] {
        let s = Array(source.unicodeScalars)
        var names: [String] = []
        var i = 0, inClass = false
        while i < s.count {
            let c = s[i]
            if c == "\\" { i += 2; continue }
            if inClass { if c == "]" { inClass = false }; i += 1; continue }
            if c == "[" { inClass = true; i += 1; continue }
            if c == "(", i + 3 < s.count, s[i + 1] == "?", s[i + 2] == "<" || s[i + 2] == "'" {
                let close: Unicode.Scalar = s[i + 2] == "<" ? ">" : "'"
                var j = i + 3
                var name = ""
                while j < s.count, s[j].properties.isAlphabetic || s[j] == "_" || ("0"..."9").contains(s[j]) {
                    name.unicodeScalars.append(s[j])
                    j += 1
                }
                if !name.isEmpty, j < s.count, s[j] == close { names.append(name) }
            }
            i += 1
        }
        return names
    }

    /// Captures if the regex matches anywhere in `uri` (unanchored, as PCRE).
    func match(_ uri: String) -> LocationCaptures? {
        let range = NSRange(location: 0, length: uri.utf16.count)
        guard let m = regex.firstMatch(in: uri, options: [], range: range) else { return nil }
        var groups: [String?] = []
        groups.reserveCapacity(m.numberOfRanges)
        for i in 0..<m.numberOfRanges {
            groups.append(Self.substring(uri, m.range(at: i)))
        }
        var named: [String: String] = [:]
        for name in groupNames {
            if let value = Self.substring(uri, m.range(withName: name)) { named[name] = value }
        }
        return LocationCaptures(groups: groups, named: named)
    }

    private static func substring(_ s: String, _ r: NSRange) -> String? {
        guard r.location != NSNotFound, let range = Range(r, in: s) else { return nil }
        return String(s[range])
    }
}
