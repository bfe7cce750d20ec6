import CLuaJIT

/// `ngx.req.set_header`, `clear_header`, `set_method`, `set_uri`, `set_uri_args`,
/// `is_internal`, `start_time` and `ngx.resp.get_headers`, with the reference's argument
/// rules and words (lua-resty-core's for the functions it defines).
enum RequestRewriteAPI {
    static let requestFunctions: [(String, lua_CFunction)] = [
        ("set_header", { L in luaFinish(L!, RequestRewriteAPI.setHeader(L!)) }),
        ("clear_header", { L in luaFinish(L!, RequestRewriteAPI.clearHeader(L!)) }),
        ("set_method", { L in luaFinish(L!, RequestRewriteAPI.setMethod(L!)) }),
        ("set_uri", { L in luaFinish(L!, RequestRewriteAPI.setURI(L!)) }),
        ("set_uri_args", { L in luaFinish(L!, RequestRewriteAPI.setURIArgs(L!)) }),
        ("is_internal", { L in luaFinish(L!, RequestAPI.withHost(L!) { L, host in lua_pushboolean(L, host.isInternal ? 1 : 0); return .values(1) }) }),
        ("start_time", { L in luaFinish(L!, RequestRewriteAPI.startTime(L!)) }),
    ]

    /// A timer's fake request in the reference started when the timer ran: now, near enough.
    static func startTime(_ L: LuaState) -> LuaReturn {
        if let host = RequestAPI.host(L) {
            lua_pushnumber(L, host.startTime)
            return .values(1)
        }
        guard case .timer? = LuaWorker.from(L).current?.context.kind else { return RequestAPI.noRequest(L) }
        lua_pushnumber(L, Clock.now())
        return .values(1)
    }

    /// `tostring(value)`, protected; `nil` when a `__tostring` raised (its error on the stack).
    private static func text(_ L: LuaState, _ index: Int32) -> String? {
        if lua_type(L, index) == LUA_TSTRING { return luaString(L, index) }
        return luaCallToString(L, index)
    }

    static func setHeader(_ L: LuaState) -> LuaReturn {
        guard let host = RequestAPI.host(L) else { return RequestAPI.noRequest(L) }
        guard !luaIsNoneOrNil(L, 1) else { return L.fail("bad 'name' argument: string expected, got nil") }
        guard let name = text(L, 1) else { return .rawError }
        var values: [String]?
        switch lua_type(L, 2) {
        case LUA_TNIL, LUA_TNONE:
            values = nil
        case LUA_TTABLE:
            var list: [String] = []
            let count = lua_objlen(L, 2)
            if count > 0 {
                for index in 1...Int32(clamping: count) {
                    lua_rawgeti(L, 2, index)
                    guard let value = text(L, -1) else { return .rawError }
                    list.append(HeaderEscaping.value(value))
                    luaPop(L, 1)
                }
            }
            values = list.isEmpty ? nil : list
        default:
            guard let value = text(L, 2) else { return .rawError }
            values = [HeaderEscaping.value(value)]
        }
        host.setRequestHeader(HeaderEscaping.name(name), values)
        return .values(0)
    }

    static func clearHeader(_ L: LuaState) -> LuaReturn {
        guard let host = RequestAPI.host(L) else { return RequestAPI.noRequest(L) }
        guard let name = text(L, 1) else { return .rawError }
        host.setRequestHeader(HeaderEscaping.name(name), nil)
        return .values(0)
    }

    /// nginx's method bits (`NGX_HTTP_GET` ...), as `ngx.HTTP_GET` and friends carry them.
    static let methods: [Int: String] = [
        2: "GET", 4: "HEAD", 8: "POST", 16: "PUT", 32: "DELETE", 64: "MKCOL", 128: "COPY", 256: "MOVE",
        512: "OPTIONS", 1024: "PROPFIND", 2048: "PROPPATCH", 4096: "LOCK", 8192: "UNLOCK", 16384: "PATCH",
        32768: "TRACE",
    ]

    static func setMethod(_ L: LuaState) -> LuaReturn {
        guard let host = RequestAPI.host(L) else { return RequestAPI.noRequest(L) }
        guard lua_type(L, 1) == LUA_TNUMBER else { return L.fail("bad method number") }
        let number = lua_tonumber(L, 1)
        guard let name = methods[LuaNumber.truncated(number)], Double(LuaNumber.truncated(number)) == number else {
            // Lua's own number formatting, as `..` in lua-resty-core's message.
            lua_pushvalue(L, 1)
            let text = luaString(L, -1) ?? ""
            return L.fail("unsupported HTTP method: \(text)")
        }
        host.setMethod(name)
        return .values(0)
    }

    static func setURI(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard (1...3).contains(count) else { return L.fail("expecting 1, 2 or 3 arguments but seen \(count)") }
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current, let host = coroutine.context.request else { return RequestAPI.noRequest(L) }
        guard lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER else {
            return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))")
        }
        var length = 0
        guard let pointer = lua_tolstring(L, 1, &length) else { return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))") }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard length > 0 else { return L.fail("attempt to use zero-length uri") }
        var jump = false
        var binary = false
        if count >= 2 {
            guard lua_type(L, 2) == LUA_TBOOLEAN else { return L.argumentError(2, "boolean expected, got \(luaTypeName(L, 2))") }
            jump = lua_toboolean(L, 2) != 0
        }
        if count >= 3 {
            guard lua_type(L, 3) == LUA_TBOOLEAN else { return L.argumentError(3, "boolean expected, got \(luaTypeName(L, 3))") }
            binary = lua_toboolean(L, 3) != 0
        }
        if !binary, let byte = URISafety.firstUnsafeByte(bytes) {
            let hex = String(byte, radix: 16)
            return L.fail("unsafe byte \"0x\(hex.count == 1 ? "0" + hex : hex)\" in uri \"\(URISafety.printable(bytes))\" (maybe you want to set the 'binary' argument?)")
        }
        let phase = coroutine.context.phaseName
        if jump && phase != "rewrite" { return L.fail("API disabled in the context of \(phase)_by_lua*") }
        host.setURI(String(decoding: bytes, as: UTF8.self), jump: jump)
        guard jump else { return .values(0) }
        // The rewrite handler ends here; the request finds its location again (see the host).
        lua_settop(L, 0)
        lua_pushinteger(L, 0)
        return NgxCoreAPI.exit(L)
    }

    static func setURIArgs(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("expecting 1 argument but seen \(count)") }
        guard let host = RequestAPI.host(L) else { return RequestAPI.noRequest(L) }
        switch lua_type(L, 1) {
        case LUA_TNUMBER, LUA_TSTRING:
            _ = host.setVariable("args", luaString(L, 1) ?? "")
        case LUA_TTABLE:
            let result = CodecAPI.encodeArgs(L)
            guard case .values = result else { return result }
            _ = host.setVariable("args", luaString(L, -1) ?? "")
        default:
            return L.argumentError(1, "string, number, or table expected, but got \(luaTypeName(L, 1))")
        }
        return .values(0)
    }

    /// `ngx.resp.get_headers(max?, raw?)`: the response's headers (at most `max` of them, 100
    /// by default, 0 for all), then `content-type`, `content-length` and `connection` as
    /// lua-nginx-module adds them from nginx's own fields.
    static func getResponseHeaders(_ L: LuaState) -> LuaReturn {
        guard let host = RequestAPI.host(L) else { return RequestAPI.noRequest(L) }
        var maximum = 100
        if !luaIsNoneOrNil(L, 1) {
            guard lua_type(L, 1) == LUA_TNUMBER else { return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))") }
            maximum = LuaNumber.clamped(lua_tonumber(L, 1))
        }
        let raw = lua_gettop(L) >= 2 && lua_toboolean(L, 2) != 0
        let headers = host.responseHeaders
        lua_createtable(L, 0, Int32(clamping: headers.count + 2))
        let table = lua_gettop(L)
        if !raw {
            RequestAPI.pushHeadersMetatable(L)
            lua_setmetatable(L, -2)
        }
        var listed = 0
        var special: [(String, String)] = []
        for (name, values) in headers {
            let lowered = name.lowercased()
            if lowered == "content-type" || lowered == "content-length" {
                if let last = values.last { special.append((lowered, last)) }
                continue
            }
            if maximum > 0 && listed >= maximum { continue }
            listed += 1
            for value in values {
                luaPushString(L, raw ? name : lowered)
                luaPushString(L, value)
                CodecAPI.addRepeatableField(L, table: table)
            }
        }
        special.append(("connection", host.status == 101 ? "upgrade" : host.keepsConnection ? "keep-alive" : "close"))
        for (name, value) in special {
            luaPushString(L, name)
            luaPushString(L, value)
            lua_rawset(L, table)
        }
        return .values(1)
    }
}
