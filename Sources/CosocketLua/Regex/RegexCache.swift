/// A worker's compiled patterns for option `o`, and its match context.
///
/// As in the reference (lua-resty-core): `match`/`find`/`gmatch`/`split` patterns live in an
/// LRU cache of `lua_regex_cache_max_entries`; `sub`/`gsub` entries (keyed by the replacement
/// too) stop being added once that many are held. When either is first full, the worker logs
/// lua-nginx-module's warning once, `lua exceeding regex cache max entries (N)`.
public final class RegexCache {
    public struct Key: Hashable {
        var pattern: [UInt8]
        var options: [UInt8]
        /// For `sub`/`gsub`: the template (nil for a function replacement).
        var replacement: [UInt8]?
    }

    public let maxEntries: Int
    public let context: RegexMatchContext
    private var matchEntries: [Key: (regex: CompiledRegex, lastUse: UInt64)] = [:]
    private var substitutionEntries: [Key: CompiledRegex] = [:]
    private var clock: UInt64 = 0
    private var warned = false
    private var hasCached = false
    /// Where the one warning goes (the worker's error log).
    var warn: (String) -> Void = { _ in }

    public init(maxEntries: Int = 1024, matchLimit: Int = 0) {
        self.maxEntries = maxEntries
        context = RegexMatchContext(matchLimit: matchLimit)
    }

    /// Whether no `o` pattern of the match family was cached yet (`ngx.re.opt` checks it).
    public var isMatchCacheEmpty: Bool { !hasCached }

    /// The compiled `pattern`, from the cache when `options.compileOnce`.
    public func regex(
        _ pattern: UnsafeRawBufferPointer,
        options: RegexOptions,
        optionText: UnsafeRawBufferPointer
    ) -> Result<CompiledRegex, RegexCompileError> {
        guard options.compileOnce, maxEntries > 0 else { return CompiledRegex.compile(pattern, options: options) }
        let key = Key(pattern: Array(pattern), options: Array(optionText), replacement: nil)
        clock &+= 1
        if let entry = matchEntries[key] {
            matchEntries[key] = (entry.regex, clock)
            return .success(entry.regex)
        }
        let compiled = CompiledRegex.compile(pattern, options: options)
        guard case .success(let regex) = compiled else { return compiled }
        if matchEntries.count >= maxEntries, let oldest = matchEntries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            warnOnce()
            matchEntries[oldest.key] = nil
        }
        matchEntries[key] = (regex, clock)
        hasCached = true
        return compiled
    }

    /// A failure of ``substitutionRegex(_:options:optionText:template:)``.
    public enum SubstitutionFailure: Error {
        case compile(RegexCompileError)
        case template(RegexTemplate.Failure)
    }

    /// The compiled `pattern` with its compiled `template` (nil for a function replacement),
    /// from the cache when `options.compileOnce`.
    public func substitutionRegex(
        _ pattern: UnsafeRawBufferPointer,
        options: RegexOptions,
        optionText: UnsafeRawBufferPointer,
        template: UnsafeRawBufferPointer?
    ) -> Result<CompiledRegex, SubstitutionFailure> {
        var key: Key?
        if options.compileOnce {
            key = Key(pattern: Array(pattern), options: Array(optionText), replacement: template.map { Array($0) })
            if let regex = substitutionEntries[key!] { return .success(regex) }
        }
        let regex: CompiledRegex
        switch CompiledRegex.compile(pattern, options: options) {
        case .success(let compiled): regex = compiled
        case .failure(let error): return .failure(.compile(error))
        }
        if let template {
            switch RegexTemplate.compile(template) {
            case .success(let compiled): regex.template = compiled
            case .failure(let failure): return .failure(.template(failure))
            }
        }
        if let key {
            if substitutionEntries.count < maxEntries {
                substitutionEntries[key] = regex
            } else {
                warnOnce()
            }
        }
        return .success(regex)
    }

    // MARK: By string identity

    /// A pattern and its options known by their Lua strings' addresses. Lua strings are
    /// interned and never move, so while the caller keeps both strings alive (the anchors), an
    /// equal pattern always arrives at the same address: the lookup needs no copy and no
    /// hashing of the bytes, which for short `"jo"` matches cost more than the match.
    public struct Identity: Hashable {
        let pattern: UnsafeRawPointer
        let options: UnsafeRawPointer
    }

    private var identities: [Identity: (regex: CompiledRegex, anchors: (Int32, Int32))] = [:]
    /// The last one found: a loop matching one pattern skips even the hashing.
    private var lastIdentity: Identity?
    private var lastRegex: CompiledRegex?

    /// The regex cached under `identity`, if any.
    @inline(__always)
    public func regex(identity: Identity) -> CompiledRegex? {
        if identity == lastIdentity { return lastRegex }
        guard let regex = identities[identity]?.regex else { return nil }
        lastIdentity = identity
        lastRegex = regex
        return regex
    }

    /// Remembers `regex` under `identity`, its strings kept alive by the two `anchors` (Lua
    /// registry references). At most `maxEntries` are kept: when full, all are dropped and their
    /// anchors returned for the caller to release.
    public func remember(_ regex: CompiledRegex, identity: Identity, anchors: (Int32, Int32)) -> [Int32] {
        var released: [Int32] = []
        if identities.count >= maxEntries {
            for entry in identities.values { released += [entry.anchors.0, entry.anchors.1] }
            identities.removeAll(keepingCapacity: true)
            lastIdentity = nil
            lastRegex = nil
        }
        identities[identity] = (regex, anchors)
        return released
    }

    private func warnOnce() {
        guard !warned else { return }
        warned = true
        warn("lua exceeding regex cache max entries (\(maxEntries))")
    }
}

extension RegexCache {
    /// A worker's cache, sized by its configuration and warning into its error log.
    convenience init(worker: LuaWorker) {
        self.init(maxEntries: worker.configuration.regexCacheMaxEntries, matchLimit: worker.configuration.regexMatchLimit)
        warn = { [unowned worker] message in worker.log(.warn, message, in: worker.current?.context) }
    }
}
