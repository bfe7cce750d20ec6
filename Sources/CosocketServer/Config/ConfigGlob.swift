/// Expansion of `include` glob patterns, matching what nginx gets from
/// glob(3) with no flags: `*`, `?`, `[...]` (with `!`/`^` negation and
/// ranges) and backslash escapes, matched per path component; wildcards never
/// match a leading `.`; results are sorted bytewise (C locale); a pattern
/// matching nothing yields no files (nginx sets `gl.test`, so that is not an
/// error).
enum ConfigGlob {
    /// nginx's test for "is this include a glob": `strpbrk(path, "*?[")`.
    static func hasMagic(_ path: String) -> Bool {
        path.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    static func expand(_ pattern: String, listDirectory: (String) -> [String]?) -> [String] {
        let components = pattern.split(separator: "/").map(String.init)
        var bases = [pattern.hasPrefix("/") ? "/" : ""]
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            var next: [String] = []
            for base in bases {
                let directory = base.isEmpty ? "." : base
                if hasMagic(component) {
                    let scalars = Array(component.unicodeScalars)
                    for entry in listDirectory(directory) ?? [] where matches(scalars, Array(entry.unicodeScalars)) {
                        next.append(join(base, entry))
                    }
                } else {
                    let literal = unescape(component)
                    // glob(3) only checks existence of the final component.
                    if isLast, !(listDirectory(directory) ?? []).contains(literal) { continue }
                    next.append(join(base, literal))
                }
            }
            bases = next
        }
        return bases.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func join(_ base: String, _ name: String) -> String {
        if base.isEmpty { return name }
        return base.hasSuffix("/") ? base + name : base + "/" + name
    }

    private static func unescape(_ s: String) -> String {
        var out = ""
        var escaped = false
        for c in s {
            if !escaped && c == "\\" { escaped = true; continue }
            escaped = false
            out.append(c)
        }
        return out
    }

    /// fnmatch(3) with FNM_PERIOD semantics for one path component.
    static func matches(_ p: [Unicode.Scalar], _ s: [Unicode.Scalar]) -> Bool {
        if s.first == "." {
            let startsWithDot = p.first == "." || (p.count > 1 && p[0] == "\\" && p[1] == ".")
            if !startsWithDot { return false }
        }
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                if p[pi] == "*" {
                    starP = pi
                    starS = si
                    pi += 1
                    continue
                }
                if let next = matchOne(p, pi, s[si]) {
                    pi = next
                    si += 1
                    continue
                }
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starS += 1
            si = starS
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// If the single-character pattern element at `pi` matches `c`, the index
    /// after that element.
    private static func matchOne(_ p: [Unicode.Scalar], _ pi: Int, _ c: Unicode.Scalar) -> Int? {
        switch p[pi] {
        case "?":
            return pi + 1
        case "[":
            if let (matched, next) = bracket(p, pi, c) { return matched ? next : nil }
            return c == "[" ? pi + 1 : nil
        case "\\" where pi + 1 < p.count:
            return p[pi + 1] == c ? pi + 2 : nil
        default:
            return p[pi] == c ? pi + 1 : nil
        }
    }

    /// Evaluates the bracket expression at `start`; nil if it is unterminated
    /// (then `[` is an ordinary character).
    private static func bracket(_ p: [Unicode.Scalar], _ start: Int, _ c: Unicode.Scalar) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.count && (p[i] == "!" || p[i] == "^") { negate = true; i += 1 }
        var matched = false
        var first = true
        while i < p.count {
            if p[i] == "]" && !first { return (matched != negate, i + 1) }
            first = false
            var lo = p[i]
            if lo == "\\" && i + 1 < p.count { i += 1; lo = p[i] }
            i += 1
            var hi = lo
            if i + 1 < p.count && p[i] == "-" && p[i + 1] != "]" {
                hi = p[i + 1]
                if hi == "\\" && i + 2 < p.count { i += 1; hi = p[i + 1] }
                i += 2
            }
            if lo <= c && c <= hi { matched = true }
        }
        return nil
    }
}
