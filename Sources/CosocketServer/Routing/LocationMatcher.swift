/// One `location` block as input to `LocationMatcher`: its pattern, whatever
/// the server attaches to it (`payload`), and its nested locations.
public struct LocationDefinition<Payload> {
    public var pattern: LocationPattern
    public var payload: Payload
    public var nested: [LocationDefinition<Payload>]
    /// Position of the `location` directive, used in build errors.
    public var file: String?
    public var line: Int?

    public init(_ pattern: LocationPattern, payload: Payload, nested: [LocationDefinition<Payload>] = [],
                file: String? = nil, line: Int? = nil) {
        self.pattern = pattern
        self.payload = payload
        self.nested = nested
        self.file = file
        self.line = line
    }
}

extension LocationDefinition: Sendable where Payload: Sendable {}

/// The location chosen for a URI.
public struct LocationMatch<Payload> {
    public var payload: Payload
    public var pattern: LocationPattern
    /// Captures of the last location regex that matched (`$1`..`$9`); `.none`
    /// when the location was chosen without a regex.
    public var captures: LocationCaptures
}

extension LocationMatch: Sendable where Payload: Sendable {}

/// Chooses the location for a request URI with nginx's algorithm
/// (`ngx_http_core_find_location`), built once per server block:
///
/// 1. Among exact (`=`) and prefix (plain, `^~`) locations of the level, an
///    exact match wins at once; otherwise the longest matching prefix is
///    remembered and the search recurses into *its* nested locations.
/// 2. Unless that longest prefix is `^~`, the level's regex locations (`~`,
///    `~*`) are tried in configuration order; the first match wins, and its
///    nested locations are searched in turn.
/// 3. Otherwise the remembered longest prefix is the answer.
///
/// Prefix matching is byte-wise and case-sensitive (nginx on Linux) and
/// allocation-free: each level keeps a byte trie of its static locations,
/// walked over the URI's UTF-8 bytes. Not reproduced: nginx's auto-redirect
/// (`NGX_DONE`), where a URI `/dir` whose only candidate is a prefix location
/// `/dir/` with proxy_pass/fastcgi_pass/etc. is answered with a 301 to `/dir/`;
/// that belongs to the handler layer, which knows about proxy_pass.
public struct LocationMatcher<Payload: Sendable>: Sendable {
    private var index = LocationIndex()
    private var payloads: [Payload] = []
    private var patterns: [LocationPattern] = []
    private var namedLocations: [String: Int] = [:]

    /// Builds the matcher, compiling regexes and rejecting what nginx rejects
    /// (duplicates, misplaced nested/named locations, bad regexes).
    /// `maxNestingDepth` guards recursion on pathological input.
    public init(_ locations: [LocationDefinition<Payload>], maxNestingDepth: Int = 32) throws(ConfigError) {
        _ = try addLevel(locations, parent: nil, depth: 0, maxDepth: maxNestingDepth)
    }

    /// The location for `uri` (already decoded and normalized by the caller,
    /// as nginx matches `r->uri`), or nil if no location matches.
    public func match(uri: String) -> LocationMatch<Payload>? {
        let (entry, captures) = index.find(uri: uri)
        guard entry >= 0 else { return nil }
        return LocationMatch(payload: payloads[entry], pattern: patterns[entry], captures: captures)
    }

    /// The named location `@name` (pass the name with its `@`); the first
    /// definition wins, as in nginx.
    public func named(_ name: String) -> Payload? {
        namedLocations[name].map { payloads[$0] }
    }

    private mutating func addLevel(_ definitions: [LocationDefinition<Payload>], parent: LocationDefinition<Payload>?,
                                   depth: Int, maxDepth: Int) throws(ConfigError) -> Int {
        let level = index.levels.count
        index.levels.append(LocationIndex.Level())
        for definition in definitions {
            let pattern = definition.pattern
            if let parent { try Self.validateNesting(definition, in: parent) }
            let regex = pattern.isRegex ? try HostRegex(pattern, file: definition.file, line: definition.line) : nil
            let entry = payloads.count
            payloads.append(definition.payload)
            patterns.append(pattern)
            index.entries.append(LocationIndex.Entry(noRegex: pattern.modifier == .prefixNoRegex, regex: regex))
            if !definition.nested.isEmpty {
                guard depth < maxDepth else {
                    throw ConfigError(.other("location nesting too deep (more than \(maxDepth) levels)"),
                                      file: definition.file, line: definition.line)
                }
                index.entries[entry].nested = try addLevel(definition.nested, parent: definition,
                                                           depth: depth + 1, maxDepth: maxDepth)
            }
            switch pattern.modifier {
            case .named:
                if namedLocations[pattern.name] == nil { namedLocations[pattern.name] = entry }
            case .regex, .caseInsensitiveRegex:
                index.levels[level].regexes.append(entry)
            case .exact, .prefix, .prefixNoRegex:
                let inserted = index.levels[level].trie.insert(pattern.name.utf8, entry: entry, exact: pattern.modifier == .exact)
                guard inserted else {
                    throw ConfigError(.duplicateLocation(pattern.name), file: definition.file, line: definition.line)
                }
            }
        }
        return level
    }

    /// The checks of ngx_http_core_location for a nested location, in nginx's order.
    private static func validateNesting(_ child: LocationDefinition<Payload>, in parent: LocationDefinition<Payload>) throws(ConfigError) {
        let (c, p) = (child.pattern, parent.pattern)
        func fail(_ kind: ConfigError.Kind) -> ConfigError { ConfigError(kind, file: child.file, line: child.line) }
        if p.modifier == .exact { throw fail(.locationInsideExact(location: c.name, parent: p.name)) }
        if p.modifier == .named { throw fail(.locationInsideNamed(location: c.name, parent: p.name)) }
        if c.modifier == .named { throw fail(.namedLocationNotOnServerLevel(c.name)) }
        if !c.isRegex && !c.name.utf8.starts(with: p.name.utf8) {
            throw fail(.locationOutside(location: c.name, parent: p.name))
        }
    }
}

/// The payload-free search structure behind `LocationMatcher`. Kept
/// non-generic so the hot path compiles to specialized code with no generic
/// metadata lookups or value-witness copies.
struct LocationIndex: Sendable {
    struct Entry: Sendable {
        var noRegex: Bool
        var regex: HostRegex?
        var nested = -1  // level index, -1 if none
    }

    /// The locations directly inside one server or location block.
    struct Level: Sendable {
        var trie = LocationTrie()   // exact and prefix locations
        var regexes: [Int] = []     // regex locations, in config order
    }

    var levels: [Level] = []
    var entries: [Entry] = []

    /// (entry index or -1, captures of the deciding regex).
    func find(uri: String) -> (Int, LocationCaptures) {
        guard !levels.isEmpty else { return (-1, .none) }
        var uri = uri
        uri.makeContiguousUTF8()  // no-op for native strings
        var entry = -1
        var captures = LocationCaptures.none
        _ = uri.utf8.withContiguousStorageIfAvailable { bytes in
            _ = find(level: 0, uri: uri, bytes: bytes, entry: &entry, captures: &captures)
        }
        return (entry, captures)
    }

    /// Mirrors ngx_http_core_find_location for one level; true when the
    /// search is over (exact or regex match).
    private func find(level: Int, uri: String, bytes: UnsafeBufferPointer<UInt8>,
                      entry: inout Int, captures: inout LocationCaptures) -> Bool {
        let (exact, inclusive) = levels[level].trie.lookup(bytes)
        if exact >= 0 {
            entry = exact
            return true
        }
        var noRegex = false
        if inclusive >= 0 {
            entry = inclusive
            noRegex = entries[inclusive].noRegex
            let nested = entries[inclusive].nested
            if nested >= 0, find(level: nested, uri: uri, bytes: bytes, entry: &entry, captures: &captures) {
                return true
            }
        }
        if noRegex { return false }
        for candidate in levels[level].regexes {
            guard let found = entries[candidate].regex?.match(uri) else { continue }
            entry = candidate
            captures = found
            let nested = entries[candidate].nested
            if nested >= 0 { _ = find(level: nested, uri: uri, bytes: bytes, entry: &entry, captures: &captures) }
            return true
        }
        return false
    }
}

/// Byte trie of a level's exact and prefix locations, stored as flat arrays
/// (first-child / next-sibling links) so lookups touch no reference counts.
/// Walking the URI's bytes down the trie visits every location name that is
/// a prefix of the URI, so the deepest `inclusive` seen is the longest prefix.
struct LocationTrie: Sendable {
    private var byte: [UInt8] = [0]       // byte on the edge into the node
    private var firstChild: [Int] = [-1]
    private var nextSibling: [Int] = [-1]
    private var exact: [Int] = [-1]       // entry of `= name`, or -1
    private var inclusive: [Int] = [-1]   // entry of `name` / `^~ name`, or -1

    private func child(of node: Int, _ b: UInt8) -> Int {
        var c = firstChild[node]
        while c >= 0 && byte[c] != b { c = nextSibling[c] }
        return c
    }

    /// Adds a location; false if one of the same kind and name exists
    /// (nginx: `duplicate location`). `= /x` and `/x` may coexist.
    mutating func insert(_ name: String.UTF8View, entry: Int, exact isExact: Bool) -> Bool {
        var node = 0
        for b in name {
            var next = child(of: node, b)
            if next < 0 {
                next = byte.count
                byte.append(b)
                firstChild.append(-1)
                nextSibling.append(firstChild[node])
                exact.append(-1)
                inclusive.append(-1)
                firstChild[node] = next
            }
            node = next
        }
        if isExact {
            guard exact[node] < 0 else { return false }
            exact[node] = entry
        } else {
            guard inclusive[node] < 0 else { return false }
            inclusive[node] = entry
        }
        return true
    }

    /// (exact entry for the whole URI, longest prefix entry); -1 when absent.
    func lookup(_ uri: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
        var node = 0
        var best = inclusive[0]
        var consumed = 0
        while consumed < uri.count {
            let next = child(of: node, uri[consumed])
            if next < 0 { break }
            node = next
            consumed += 1
            if inclusive[node] >= 0 { best = inclusive[node] }
        }
        return (consumed == uri.count ? exact[node] : -1, best)
    }
}
