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
            type = Int(lua_tonumber(L, 2))
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
}
