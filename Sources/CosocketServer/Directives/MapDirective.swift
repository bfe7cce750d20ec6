/// nginx's `map string $variable { ... }` (http): a variable whose value is looked up from
/// `source` (a variable template) when a request first reads it. Strings match ignoring case;
/// with `hostnames`, also `*.x`, `.x` and `x.*` masks; `~`/`~*` regexes are tried in order after
/// them, and their captures become the request's `$1`.. and named variables; then `default`.
/// Values are variable templates. `volatile` makes every read look again (otherwise a
/// request keeps the first value, as nginx caches it).
struct VariableMap: Sendable {
    var variable: String
    var source: String
    var exact: [String: String] = [:]
    /// `*.example.com` and `.example.com` as `example.com` suffixes (`.x` also matches `x`).
    var prefixMasks: [(suffix: String, includesBare: Bool, value: String)] = []
    /// `mail.*` as `mail.` prefixes.
    var suffixMasks: [(prefix: String, value: String)] = []
    var regexes: [(regex: HostRegex, value: String)] = []
    var defaultValue = ""
    var hostnames = false
    var volatile = false

    static func parse(_ node: ConfigNode) throws(ConfigError) -> VariableMap {
        guard node.arguments.count == 2, let entries = node.children else { throw node.error(.invalidArgumentCount(node.name)) }
        let name = node.arguments[1]
        guard name.hasPrefix("$"), name.count > 1 else { throw node.error(.other("invalid variable name \"\(name)\"")) }
        var map = VariableMap(variable: String(name.dropFirst()), source: node.arguments[0])
        var sawDefault = false
        var keys: Set<String> = []
        for entry in entries {
            if entry.arguments.isEmpty, entry.name == "hostnames" { map.hostnames = true; continue }
            if entry.arguments.isEmpty, entry.name == "volatile" { map.volatile = true; continue }
            guard entry.arguments.count == 1 else { throw entry.error(.other("invalid number of the map parameters")) }
            let value = entry.arguments[0]
            var key = entry.name
            if key == "default" {
                guard !sawDefault else { throw entry.error(.other("duplicate default map parameter")) }
                sawDefault = true
                map.defaultValue = value
                continue
            }
            if key.hasPrefix("~") {
                let caseless = key.hasPrefix("~*")
                let pattern = String(key.dropFirst(caseless ? 2 : 1))
                map.regexes.append((try HostRegex(pattern, caseless: caseless, file: entry.file, line: entry.line), value))
                continue
            }
            // `\default`, `\hostnames`, `\~x`: the name itself.
            if key.hasPrefix("\\") { key.removeFirst() }
            let lowered = key.lowercased()
            guard keys.insert(lowered).inserted else { throw entry.error(.other("conflicting parameter \"\(lowered)\"")) }
            if map.hostnames, lowered.hasPrefix("*.") {
                map.prefixMasks.append((String(lowered.dropFirst(1)), false, value))
            } else if map.hostnames, lowered.hasPrefix("."), lowered.count > 1 {
                map.prefixMasks.append((lowered, true, value))
            } else if map.hostnames, lowered.hasSuffix(".*") {
                map.suffixMasks.append((String(lowered.dropLast(1)), value))
            } else {
                map.exact[lowered] = value
            }
        }
        // nginx prefers the longest mask of each kind.
        map.prefixMasks.sort { $0.suffix.count > $1.suffix.count }
        map.suffixMasks.sort { $0.prefix.count > $1.prefix.count }
        return map
    }

    /// The value template `subject` chooses, with the captures of the regex that chose it.
    func lookup(_ subject: String) -> (value: String, captures: LocationCaptures?) {
        var key = subject.lowercased()
        if hostnames, key.hasSuffix(".") { key.removeLast() }
        if let value = exact[key] { return (value, nil) }
        if hostnames {
            for mask in prefixMasks where key.hasSuffix(mask.suffix) || (mask.includesBare && "." + key == mask.suffix) {
                return (mask.value, nil)
            }
            for mask in suffixMasks where key.hasPrefix(mask.prefix) { return (mask.value, nil) }
        }
        for entry in regexes {
            if let captures = entry.regex.match(subject) { return (entry.value, captures) }
        }
        return (defaultValue, nil)
    }
}
