import CLuaJIT

/// The string helpers of the `ngx` table, over ``NgxCodec``.
enum CodecAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        let functions: [(String, lua_CFunction)] = [
            ("encode_base64", { L in luaFinish(L!, CodecAPI.encodeBase64(L!)) }),
            ("decode_base64", { L in luaFinish(L!, CodecAPI.decodeBase64(L!)) }),
            ("md5", { L in luaFinish(L!, CodecAPI.transform(L!) { NgxCodec.md5Hex($0) }) }),
            ("md5_bin", { L in luaFinish(L!, CodecAPI.transform(L!) { NgxCodec.md5($0) }) }),
            ("sha1_bin", { L in luaFinish(L!, CodecAPI.transform(L!) { NgxCodec.sha1($0) }) }),
            ("unescape_uri", { L in luaFinish(L!, CodecAPI.transform(L!) { NgxCodec.unescapeURI($0) }) }),
            ("quote_sql_str", { L in luaFinish(L!, CodecAPI.transform(L!) { NgxCodec.quoteSQLString($0) }) }),
            ("escape_uri", { L in luaFinish(L!, CodecAPI.escapeURI(L!)) }),
            ("crc32_short", { L in luaFinish(L!, CodecAPI.crc32(L!)) }),
            ("crc32_long", { L in luaFinish(L!, CodecAPI.crc32(L!)) }),
            ("hmac_sha1", { L in luaFinish(L!, CodecAPI.hmacSHA1(L!)) }),
            ("encode_args", { L in luaFinish(L!, CodecAPI.encodeArgs(L!)) }),
            ("decode_args", { L in luaFinish(L!, CodecAPI.decodeArgs(L!)) }),
        ]
        for (name, function) in functions { luaSetField(L, -1, name, function, upvalue: worker) }
    }

    /// nil counts as the empty string and other values go through `tostring`, as in the reference.
    private static func argumentBytes(_ L: LuaState, _ index: Int32) -> UnsafeRawBufferPointer {
        if luaIsNoneOrNil(L, index) { return UnsafeRawBufferPointer(start: nil, count: 0) }
        if let bytes = luaBytes(L, index) { return bytes }
        lua_getfield(L, luaGlobalsIndex, "tostring")
        lua_pushvalue(L, index)
        if lua_pcall(L, 1, 1, 0) != 0 { luaPop(L, 1); lua_pushstring(L, "") }
        lua_replace(L, index)
        return luaBytes(L, index) ?? UnsafeRawBufferPointer(start: nil, count: 0)
    }

    private static func push(_ L: LuaState, _ bytes: [UInt8]) -> LuaReturn {
        bytes.withUnsafeBytes { luaPushBytes(L, $0) }
        return .values(1)
    }

    private static func transform(_ L: LuaState, _ body: (UnsafeRawBufferPointer) -> [UInt8]) -> LuaReturn {
        push(L, body(argumentBytes(L, 1)))
    }

    static func encodeBase64(_ L: LuaState) -> LuaReturn {
        var noPadding = false
        if lua_gettop(L) >= 2 {
            guard lua_type(L, 2) == LUA_TBOOLEAN else { return L.argumentError(2, "boolean expected, got \(luaTypeName(L, 2))") }
            noPadding = lua_toboolean(L, 2) != 0
        }
        return push(L, NgxCodec.encodeBase64(argumentBytes(L, 1), noPadding: noPadding))
    }

    static func decodeBase64(_ L: LuaState) -> LuaReturn {
        guard lua_type(L, 1) == LUA_TSTRING, let bytes = luaBytes(L, 1) else {
            return L.fail("string argument only")
        }
        guard let decoded = NgxCodec.decodeBase64(bytes) else {
            lua_pushnil(L)
            return .values(1)
        }
        return push(L, decoded)
    }

    static func escapeURI(_ L: LuaState) -> LuaReturn {
        var type = NgxCodec.escapeURIComponent
        if lua_gettop(L) >= 2, !luaIsNoneOrNil(L, 2) {
            type = LuaNumber.clamped(lua_tonumber(L, 2))
            guard NgxCodec.escapeURITypeRange.contains(type) else { return L.argumentError(2, "\"typ\" \(type) out of range") }
        }
        return push(L, NgxCodec.escapeURI(argumentBytes(L, 1), type: type))
    }

    static func crc32(_ L: LuaState) -> LuaReturn {
        lua_pushnumber(L, Double(NgxCodec.crc32Long(argumentBytes(L, 1))))
        return .values(1)
    }

    static func hmacSHA1(_ L: LuaState) -> LuaReturn {
        let key = Array(argumentBytes(L, 1))
        return push(L, NgxCodec.hmacSHA1(key: key, message: Array(argumentBytes(L, 2))))
    }

    /// `ngx.encode_args(table)`, with the mapping ``NgxCodec/ArgsEncoder`` documents.
    static func encodeArgs(_ L: LuaState) -> LuaReturn { encodeArgs(L, table: 1) }

    /// `ngx.encode_args` of the table at `table` (the `args` options of `ngx.exec` and
    /// `ngx.location.capture` too): pushes the query string.
    static func encodeArgs(_ L: LuaState, table: Int32) -> LuaReturn {
        let table = table < 0 ? lua_gettop(L) + table + 1 : table
        guard lua_type(L, table) == LUA_TTABLE else { return L.argumentError(table, "table expected, got \(luaTypeName(L, table))") }
        var encoder = NgxCodec.ArgsEncoder()
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            guard lua_type(L, -2) == LUA_TSTRING, let key = luaBytes(L, -2) else {
                return L.fail("attempt to use a non-string key in the \"args\" option table")
            }
            if let problem = appendArgValue(L, -1, key: key, to: &encoder, allowTable: true) { return L.fail(problem) }
            luaPop(L, 1)
        }
        return push(L, encoder.bytes)
    }

    private static func appendArgValue(
        _ L: LuaState,
        _ index: Int32,
        key: UnsafeRawBufferPointer,
        to encoder: inout NgxCodec.ArgsEncoder,
        allowTable: Bool
    ) -> String? {
        switch lua_type(L, index) {
        case LUA_TSTRING, LUA_TNUMBER:
            lua_pushvalue(L, index)
            let value = luaBytes(L, -1)
            encoder.append(key: key, value: value)
            luaPop(L, 1)
        case LUA_TBOOLEAN:
            if lua_toboolean(L, index) != 0 { encoder.append(key: key, value: nil) }
        case LUA_TTABLE where allowTable:
            let table = lua_gettop(L) + index + 1
            lua_pushnil(L)
            while lua_next(L, table) != 0 {
                if let problem = appendArgValue(L, -1, key: key, to: &encoder, allowTable: false) {
                    luaPop(L, 2)
                    return problem
                }
                luaPop(L, 1)
            }
        default:
            return "attempt to use \(luaTypeName(L, index)) as query arg value"
        }
        return nil
    }

    /// `ngx.decode_args(str, max_args?)`: repeated keys become lists, bare keys `true`.
    static func decodeArgs(_ L: LuaState) -> LuaReturn {
        guard let bytes = luaBytes(L, 1) else { return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))") }
        var maximum = NgxCodec.defaultMaxArgs
        if lua_gettop(L) >= 2 {
            guard lua_type(L, 2) == LUA_TNUMBER else { return L.argumentError(2, "number expected, got \(luaTypeName(L, 2))") }
            maximum = LuaNumber.clamped(lua_tonumber(L, 2))
        }
        lua_createtable(L, 0, 4)
        let table = lua_gettop(L)
        // One more than asked for tells a truncation (the reference's "truncated" second value).
        let limited = maximum > 0 && maximum < Int.max
        var seen = 0
        NgxCodec.forEachArg(in: bytes, maxArgs: limited ? maximum + 1 : maximum) { key, value in
            seen += 1
            guard !limited || seen <= maximum else { return }
            luaPushBytes(L, key)
            if let value { luaPushBytes(L, value) } else { lua_pushboolean(L, 1) }
            addRepeatableField(L, table: table)
        }
        guard limited, seen > maximum else { return .values(1) }
        LuaWorker.from(L).log(.debug, "lua hit query args limit \(maximum)")
        luaPushString(L, "truncated")
        return .values(2)
    }

    /// Sets `table[key] = value` from the key and value on top of the stack (and pops them);
    /// a key seen before collects its values into a list, in order, as the reference does for
    /// repeated arguments and headers.
    static func addRepeatableField(_ L: LuaState, table: Int32) {
        lua_pushvalue(L, -2)
        lua_rawget(L, table)
        switch lua_type(L, -1) {
        case LUA_TNIL:
            luaPop(L, 1)
            lua_rawset(L, table)
        case LUA_TTABLE:
            // Already a list: append.
            lua_insert(L, -2)
            lua_rawseti(L, -2, Int32(lua_objlen(L, -2) + 1))
            luaPop(L, 2)
        default:
            // Second occurrence: { first, this }.
            lua_createtable(L, 2, 0)
            lua_insert(L, -2)
            lua_rawseti(L, -2, 1)
            lua_insert(L, -2)
            lua_rawseti(L, -2, 2)
            lua_rawset(L, table)
        }
    }
}
