import CLuaJIT

/// lua-resty-core's `ngx.re` module (`require "ngx.re"`): `split` and `opt`.
enum RegexModuleAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_getfield(L, luaGlobalsIndex, "package")
        lua_getfield(L, -1, "loaded")
        lua_createtable(L, 0, 3)
        luaSetField(L, -1, "split", { L in luaFinish(L!, RegexModuleAPI.split(L!)) }, upvalue: worker)
        luaSetField(L, -1, "opt", { L in luaFinish(L!, RegexModuleAPI.opt(L!)) }, upvalue: worker)
        luaPushString(L, "0.1.25")
        lua_setfield(L, -2, "version")
        lua_setfield(L, -2, "ngx.re")
        luaPop(L, 2)
    }

    /// Lua's `string.sub(bytes, i, j)`.
    private static func pushSub(_ L: LuaState, _ bytes: UnsafeRawBufferPointer, _ i: Int, _ j: Int) {
        let length = bytes.count
        func relative(_ position: Int) -> Int { position >= 0 ? position : (-position > length ? 0 : length + position + 1) }
        let start = max(relative(i), 1)
        let end = min(relative(j), length)
        if start > end {
            lua_pushlstring(L, "", 0)
        } else {
            luaPushBytes(L, UnsafeRawBufferPointer(rebasing: bytes[(start - 1)..<end]))
        }
    }

    /// `split(subject, regex, options?, ctx?, max?, res?)`: the pieces between the matches
    /// (and each match's first capture), as lua-resty-core's `ngx/re.lua` splits.
    static func split(_ L: LuaState) -> LuaReturn {
        lua_settop(L, 6)
        guard let subject = RegexAPI.subject(L, 1) else { return .rawError }
        let length = subject.count
        let userContext = lua_toboolean(L, 4) != 0
        var position = 1
        if userContext {
            guard lua_type(L, 4) == LUA_TTABLE else { return L.fail("attempt to index local 'ctx' (a \(luaTypeName(L, 4)) value)") }
            luaPushString(L, "pos")
            lua_rawget(L, 4)
            switch RegexAPI.integer(L, -1, absent: 1, numberFirst: true) {
            case .success(let value): position = value
            case .failure(let failure): return L.fail(failure.message)
            }
            luaPop(L, 1)
        }
        func storePosition(_ value: Int) {
            guard userContext else { return }
            luaPushString(L, "pos")
            lua_pushinteger(L, lua_Integer(value))
            lua_rawset(L, 4)
        }
        storePosition(position)
        let maximum: Int
        switch RegexAPI.integer(L, 5, absent: 0, numberFirst: true) {
        case .success(let value): maximum = value
        case .failure(let failure): return L.fail(failure.message)
        }
        if lua_toboolean(L, 6) == 0 {
            lua_createtable(L, Int32(maximum > 0 ? min(4, maximum) : 4), 0)
            lua_replace(L, 6)
        } else if lua_type(L, 6) != LUA_TTABLE {
            return L.fail("res is not a table")
        }
        if position > length {
            lua_pushnil(L)
            lua_rawseti(L, 6, 1)
            lua_pushvalue(L, 6)
            return .values(1)
        }
        let cache = LuaWorker.from(L).regexCache
        let regex: CompiledRegex
        switch RegexAPI.compile(L, pattern: 2, options: 3, cache: cache) {
        case .regex(let compiled): regex = compiled
        case .raise(let raised): return raised
        case .failed(let message): return L.softFailure(bytes: message)
        }
        let context = cache.context
        var pieceStart = position
        var count = 0
        var lastEmptyMatch: Int?
        var offset = position - 1
        while maximum <= 0 || count + 1 < maximum {
            var rc = regex.match(subject, from: max(offset, 0), context: context)
            if rc == RegexStatus.noMatch { break }
            if let failure = RegexAPI.matchFailure(rc, regex) {
                storePosition(offset)
                return L.softFailure(failure)
            }
            if rc == 0 { rc = 1 }
            let whole = regex.range(of: 0) ?? 0..<0
            offset = whole.isEmpty ? whole.upperBound + 1 : whole.upperBound
            let from = whole.lowerBound + 1
            let to = whole.upperBound + 1
            if let lastEmptyMatch { pieceStart = lastEmptyMatch }
            if from == to { lastEmptyMatch = from }
            guard from > pieceStart || lastEmptyMatch == nil else { continue }
            count += 1
            pushSub(L, subject, pieceStart, from - 1)
            lua_rawseti(L, 6, Int32(clamping: count))
            if regex.captureCount > 0 && rc > 1 {
                // An unset first group reads as lua-resty-core reads it: sub(s, 0, -1).
                let capture = regex.range(of: 1)
                pushSub(L, subject, capture.map { $0.lowerBound + 1 } ?? 0, capture.map { $0.upperBound } ?? -1)
                count += 1
                lua_rawseti(L, 6, Int32(clamping: count))
            }
            pieceStart = to
            if pieceStart > length { break }
        }
        storePosition(offset)
        var last = count
        if maximum <= 0 && pieceStart > length {
            // Trailing empty pieces are dropped.
            var index = count
            while index >= 1 {
                lua_rawgeti(L, 6, Int32(clamping: index))
                let empty = lua_type(L, -1) == LUA_TSTRING && lua_objlen(L, -1) == 0
                luaPop(L, 1)
                if !empty {
                    last = index
                    break
                }
                lua_pushnil(L)
                lua_rawseti(L, 6, Int32(clamping: index))
                index -= 1
            }
        } else {
            last += 1
            pushSub(L, subject, pieceStart, length)
            lua_rawseti(L, 6, Int32(clamping: last))
        }
        lua_pushnil(L)
        lua_rawseti(L, 6, Int32(clamping: last + 1))
        lua_pushvalue(L, 6)
        return .values(1)
    }

    /// `opt("jit_stack_size", bytes)`: the JIT stack of this worker's matches, allowed before
    /// any pattern is cached.
    static func opt(_ L: LuaState) -> LuaReturn {
        guard luaString(L, 1) == "jit_stack_size", lua_type(L, 1) == LUA_TSTRING else { return L.fail("unrecognized option name") }
        let cache = LuaWorker.from(L).regexCache
        guard cache.isMatchCacheEmpty else {
            return L.fail("changing jit stack size is not allowed when some regexs have already been compiled and cached")
        }
        guard lua_type(L, 2) == LUA_TNUMBER else {
            return L.argumentError(1, "cannot convert '\(luaTypeName(L, 2))' to 'int'")
        }
        guard cache.context.setJITStackSize(Int(LuaNumber.truncated32(lua_tonumber(L, 2)))) else {
            return L.fail("pcre jit stack allocation failed")
        }
        return .values(0)
    }
}
