import CLuaJIT

/// `ngx.re.match`, `find` and `gmatch` over ``CompiledRegex``, with lua-resty-core's argument
/// handling, results and error strings (the reference's `ngx.re` is resty.core's).
enum RegexAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 5)
        let functions: [(String, lua_CFunction)] = [
            ("match", { L in luaFinish(L!, RegexAPI.match(L!, wantCaptures: true)) }),
            ("find", { L in luaFinish(L!, RegexAPI.match(L!, wantCaptures: false)) }),
            ("gmatch", { L in luaFinish(L!, RegexAPI.gmatch(L!)) }),
            ("sub", { L in luaFinish(L!, RegexSubstitutionAPI.substitute(L!, global: false)) }),
            ("gsub", { L in luaFinish(L!, RegexSubstitutionAPI.substitute(L!, global: true)) }),
        ]
        for (name, function) in functions { luaSetField(L, -1, name, function, upvalue: worker) }
        lua_setfield(L, -2, "re")

        // The gmatch iterator is a callable table, as lua-resty-core's is.
        lua_createtable(L, 0, 1)
        luaSetField(L, -1, "__call", { L in luaFinish(L!, RegexAPI.iterate(L!)) }, upvalue: worker)
        gmatchMetatable.store(L)

        RegexModuleAPI.install(L, worker: worker)
    }

    private static let gmatchMetatable = LuaRegistrySlot()

    // MARK: Arguments

    /// The subject at `index` as `tostring` makes it (in place); nil with the error on the
    /// stack if `tostring` raised.
    static func subject(_ L: LuaState, _ index: Int32) -> UnsafeRawBufferPointer? {
        if lua_type(L, index) == LUA_TSTRING || lua_type(L, index) == LUA_TNUMBER { return luaBytes(L, index) }
        lua_getfield(L, luaGlobalsIndex, "tostring")
        lua_pushvalue(L, index)
        if lua_pcall(L, 1, 1, 0) != 0 { return nil }
        if lua_type(L, -1) != LUA_TSTRING {
            luaPop(L, 1)
            luaPushString(L, "'tostring' must return a string")
            return nil
        }
        lua_replace(L, index)
        return luaBytes(L, index)
    }

    /// A compiled pattern (arguments `patternIndex` and `optionsIndex`), or what to return.
    enum Compiled {
        case regex(CompiledRegex)
        /// Options or pattern of the wrong type, or a bad option: raised.
        case raise(LuaReturn)
        /// The pattern did not compile: the reference returns the message.
        case failed([UInt8])
    }

    /// The option letters at `index`: nil/false is none; a table counts as none too (the
    /// reference takes its length, 0); anything else but a string raises as the reference does.
    static func options(_ L: LuaState, _ index: Int32) -> Result<(RegexOptions, UnsafeRawBufferPointer), LuaFailure> {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        switch lua_type(L, index) {
        case LUA_TNONE, LUA_TNIL, LUA_TTABLE: return .success((RegexOptions(), none))
        case LUA_TBOOLEAN where lua_toboolean(L, index) == 0: return .success((RegexOptions(), none))
        case LUA_TSTRING:
            let text = luaBytes(L, index) ?? none
            switch RegexOptions.parse(text) {
            case .success(let options): return .success((options, text))
            case .failure(let problem): return .failure(LuaFailure(problem.message))
            }
        default:
            return .failure(LuaFailure("attempt to get length of local 'opts' (a \(luaTypeName(L, index)) value)"))
        }
    }

    static func pattern(_ L: LuaState, _ index: Int32) -> Result<UnsafeRawBufferPointer, LuaFailure> {
        guard lua_type(L, index) == LUA_TSTRING, let bytes = luaBytes(L, index) else {
            return .failure(LuaFailure("attempt to get length of local 'regex' (a \(luaTypeName(L, index)) value)"))
        }
        return .success(bytes)
    }

    /// Compiles for the match family (`match`, `find`, `gmatch`, `split`): options first, as
    /// the reference reads them, then the pattern, through the worker's LRU cache.
    static func compile(_ L: LuaState, pattern patternIndex: Int32, options optionsIndex: Int32, cache: RegexCache) -> Compiled {
        // An `o` pattern seen before, by its strings' addresses: no parsing, no copying.
        if lua_type(L, patternIndex) == LUA_TSTRING, lua_type(L, optionsIndex) == LUA_TSTRING,
            let pattern = lua_tolstring(L, patternIndex, nil), let options = lua_tolstring(L, optionsIndex, nil),
            let regex = cache.regex(identity: RegexCache.Identity(pattern: UnsafeRawPointer(pattern), options: UnsafeRawPointer(options)))
        {
            return .regex(regex)
        }
        let options: (RegexOptions, UnsafeRawBufferPointer)
        switch self.options(L, optionsIndex) {
        case .success(let parsed): options = parsed
        case .failure(let failure): return .raise(L.fail(failure.message))
        }
        let pattern: UnsafeRawBufferPointer
        switch self.pattern(L, patternIndex) {
        case .success(let bytes): pattern = bytes
        case .failure(let failure): return .raise(L.fail(failure.message))
        }
        let fast = options.0.compileOnce && cache.maxEntries > 0
        let identity = RegexCache.Identity(
            pattern: pattern.baseAddress ?? UnsafeRawPointer(RegexSubject.empty),
            options: options.1.baseAddress ?? UnsafeRawPointer(RegexSubject.empty)
        )
        switch cache.regex(pattern, options: options.0, optionText: options.1) {
        case .success(let regex):
            if fast {
                // Anchors keep both strings alive, so their addresses stay theirs.
                lua_pushvalue(L, patternIndex)
                let patternAnchor = luaL_ref(L, luaRegistryIndex)
                lua_pushvalue(L, optionsIndex)
                let optionsAnchor = luaL_ref(L, luaRegistryIndex)
                for anchor in cache.remember(regex, identity: identity, anchors: (patternAnchor, optionsAnchor)) {
                    luaL_unref(L, luaRegistryIndex, anchor)
                }
            }
            return .regex(regex)
        case .failure(let error):
            return .failed(error.bytes)
        }
    }

    /// A non-negative integer argument read as the reference compares and converts it
    /// (`ctx.pos`, `nth`): nil/false give `absent`; a non-number raises Lua's comparison error.
    /// `numberFirst`: the comparison is `0 < value` (as `max > 0` compiles), which names the
    /// operand types the other way round.
    static func integer(_ L: LuaState, _ index: Int32, absent: Int, numberFirst: Bool = false) -> Result<Int, LuaFailure> {
        switch lua_type(L, index) {
        case LUA_TNONE, LUA_TNIL: return .success(absent)
        case LUA_TBOOLEAN where lua_toboolean(L, index) == 0: return .success(absent)
        case LUA_TNUMBER: return .success(LuaNumber.clamped(lua_tonumber(L, index)))
        default:
            let type = luaTypeName(L, index)
            return .failure(LuaFailure(numberFirst ? "attempt to compare number with \(type)" : "attempt to compare \(type) with number"))
        }
    }

    /// `pcre_exec() failed: N` (or `capture size too small`) for a failed match, nil otherwise.
    static func matchFailure(_ rc: Int32, _ regex: CompiledRegex) -> String? {
        if rc < 0 { return "pcre_exec() failed: \(rc)" }
        if rc == 0 && !regex.options.dfa { return "capture size too small" }
        return nil
    }

    // MARK: match and find

    /// `ngx.re.match(subject, regex, options?, ctx?, res?)` and
    /// `ngx.re.find(subject, regex, options?, ctx?, nth?)`.
    static func match(_ L: LuaState, wantCaptures: Bool) -> LuaReturn {
        lua_settop(L, 5)
        guard let subject = subject(L, 1) else { return .rawError }
        let cache = LuaWorker.from(L).regexCache
        let regex: CompiledRegex
        switch compile(L, pattern: 2, options: 3, cache: cache) {
        case .regex(let compiled): regex = compiled
        case .raise(let raised): return raised
        case .failed(let message):
            lua_pushnil(L)
            if !wantCaptures { lua_pushnil(L) }
            message.withUnsafeBytes { luaPushBytes(L, $0) }
            return .values(wantCaptures ? 2 : 3)
        }
        let hasContext = lua_toboolean(L, 4) != 0
        var offset = 0
        if hasContext {
            guard lua_type(L, 4) == LUA_TTABLE else { return L.fail("attempt to index local 'ctx' (a \(luaTypeName(L, 4)) value)") }
            luaPushString(L, "pos")
            lua_rawget(L, 4)
            let position = integer(L, -1, absent: 0)
            luaPop(L, 1)
            switch position {
            case .success(let position): offset = position <= 0 ? 0 : position - 1
            case .failure(let failure): return L.fail(failure.message)
            }
        }
        var rc = regex.match(subject, from: offset, context: cache.context)
        if rc == RegexStatus.noMatch {
            lua_pushnil(L)
            return .values(1)
        }
        if let failure = matchFailure(rc, regex) {
            lua_pushnil(L)
            if !wantCaptures { lua_pushnil(L) }
            luaPushString(L, failure)
            return .values(wantCaptures ? 2 : 3)
        }
        if rc == 0 { rc = 1 }
        let whole = regex.range(of: 0) ?? 0..<0
        if hasContext {
            luaPushString(L, "pos")
            lua_pushinteger(L, lua_Integer(whole.upperBound + 1))
            lua_rawset(L, 4)
        }
        guard wantCaptures else { return find(L, regex, rc: Int(rc)) }
        if lua_toboolean(L, 5) != 0 {
            guard lua_type(L, 5) == LUA_TTABLE else { return L.fail("attempt to index local 'res' (a \(luaTypeName(L, 5)) value)") }
            lua_pushvalue(L, 5)
        } else {
            lua_createtable(L, Int32(regex.captureCount), Int32(regex.names.count + 1))
        }
        pushCaptures(L, regex, rc: Int(rc), subject: subject)
        return .values(1)
    }

    private static func find(_ L: LuaState, _ regex: CompiledRegex, rc: Int) -> LuaReturn {
        let nth: Int
        switch integer(L, 5, absent: 0) {
        case .success(let value): nth = max(value, 0)
        case .failure(let failure): return L.fail(failure.message)
        }
        if nth > regex.captureCount {
            lua_pushnil(L)
            lua_pushnil(L)
            luaPushString(L, "nth out of bound")
            return .values(3)
        }
        guard nth < rc, let range = regex.range(of: nth) else {
            lua_pushnil(L)
            lua_pushnil(L)
            return .values(2)
        }
        lua_pushinteger(L, lua_Integer(range.lowerBound + 1))
        lua_pushinteger(L, lua_Integer(range.upperBound))
        return .values(2)
    }

    /// Fills the table on top of the stack with the last match's captures: `[0]`..`[n]` (false
    /// for a group that did not take part), then the named ones (lists of the groups that
    /// took part, with `D`).
    static func pushCaptures(_ L: LuaState, _ regex: CompiledRegex, rc: Int, subject: UnsafeRawBufferPointer) {
        let table = lua_gettop(L)
        for group in 0...regex.captureCount {
            if group <= rc, let range = regex.range(of: group) {
                luaPushBytes(L, UnsafeRawBufferPointer(rebasing: subject[range]))
            } else {
                lua_pushboolean(L, 0)
            }
            lua_rawseti(L, table, Int32(group))
        }
        for (group, name) in regex.names {
            name.withUnsafeBytes { luaPushBytes(L, $0) }
            if regex.options.duplicateNames {
                lua_rawgeti(L, table, Int32(group))
                guard lua_toboolean(L, -1) != 0 else {
                    luaPop(L, 2)
                    continue
                }
                lua_pushvalue(L, -2)
                lua_rawget(L, table)
                if lua_type(L, -1) == LUA_TTABLE {
                    lua_insert(L, -2)
                    lua_rawseti(L, -2, Int32(lua_objlen(L, -2) + 1))
                    luaPop(L, 2)
                } else {
                    luaPop(L, 1)
                    lua_createtable(L, 1, 0)
                    lua_insert(L, -2)
                    lua_rawseti(L, -2, 1)
                    lua_rawset(L, table)
                }
            } else {
                lua_rawgeti(L, table, Int32(group))
                lua_rawset(L, table)
            }
        }
    }

    // MARK: gmatch

    /// The state of one `gmatch` iterator; its subject is kept by the iterator table.
    final class GmatchState {
        let regex: CompiledRegex
        /// The next offset, nil once exhausted.
        var offset: Int? = 0

        init(regex: CompiledRegex) { self.regex = regex }
    }

    /// `ngx.re.gmatch(subject, regex, options?)`: an iterator (a callable table) over the matches.
    static func gmatch(_ L: LuaState) -> LuaReturn {
        lua_settop(L, 3)
        guard subject(L, 1) != nil else { return .rawError }
        let regex: CompiledRegex
        switch compile(L, pattern: 2, options: 3, cache: LuaWorker.from(L).regexCache) {
        case .regex(let compiled): regex = compiled
        case .raise(let raised): return raised
        case .failed(let message): return L.softFailure(bytes: message)
        }
        lua_createtable(L, 2, 0)
        LuaBox.push(L, GmatchState(regex: regex), seal: LuaWorker.from(L).boxSeal)
        lua_rawseti(L, -2, 1)
        lua_pushvalue(L, 1)
        lua_rawseti(L, -2, 2)
        gmatchMetatable.push(L)
        lua_setmetatable(L, -2)
        return .values(1)
    }

    /// One call of a gmatch iterator: the next captures table, nil at the end, or nil and
    /// the error (which ends it too). An empty match moves on by one byte.
    static func iterate(_ L: LuaState) -> LuaReturn {
        guard lua_type(L, 1) == LUA_TTABLE else { return L.fail("attempt to call a \(luaTypeName(L, 1)) value") }
        lua_rawgeti(L, 1, 1)
        lua_rawgeti(L, 1, 2)
        guard let state = LuaBox.unbox(L, -2, as: GmatchState.self, seal: LuaWorker.from(L).boxSeal),
            let subject = luaBytes(L, -1), let offset = state.offset
        else {
            lua_pushnil(L)
            return .values(1)
        }
        let regex = state.regex
        var rc = regex.match(subject, from: offset, context: LuaWorker.from(L).regexCache.context)
        if rc == RegexStatus.noMatch {
            state.offset = nil
            lua_pushnil(L)
            return .values(1)
        }
        if let failure = matchFailure(rc, regex) {
            state.offset = nil
            return L.softFailure(failure)
        }
        if rc == 0 { rc = 1 }
        let whole = regex.range(of: 0) ?? 0..<0
        var next = whole.upperBound
        if whole.isEmpty { next += 1 }
        state.offset = next > subject.count ? nil : next
        lua_createtable(L, Int32(regex.captureCount), Int32(regex.names.count + 1))
        pushCaptures(L, regex, rc: Int(rc), subject: subject)
        return .values(1)
    }
}

/// An error message for ``LuaState/fail(_:)``, carried through `Result`.
struct LuaFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
