import CLuaJIT

/// `ngx.var`, `ngx.status`, `ngx.header` and `ngx.req.*` over the context's ``LuaRequestHost``.
///
/// `ngx.var`, `ngx.header` and `ngx.status` are magic: the `ngx` table's and their own
/// metatables route reads and writes to the current request.
enum RequestAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        installMagicTable(L, "var", worker: worker,
                          get: { L in luaFinish(L!, RequestAPI.getVariable(L!)) },
                          set: { L in luaFinish(L!, RequestAPI.setVariable(L!)) })
        installMagicTable(L, "header", worker: worker,
                          get: { L in luaFinish(L!, RequestAPI.getHeader(L!)) },
                          set: { L in luaFinish(L!, RequestAPI.setHeader(L!)) })

        // ngx.req
        lua_createtable(L, 0, 8)
        let functions: [(String, lua_CFunction)] = [
            ("get_method", { L in luaFinish(L!, RequestAPI.withHost(L!) { L, host in luaPushString(L, host.method); return .values(1) }) }),
            ("http_version", { L in luaFinish(L!, RequestAPI.withHost(L!) { L, host in lua_pushnumber(L, host.httpVersion); return .values(1) }) }),
            ("get_headers", { L in luaFinish(L!, RequestAPI.getHeaders(L!)) }),
            ("get_uri_args", { L in luaFinish(L!, RequestAPI.getURIArgs(L!)) }),
            ("get_post_args", { L in luaFinish(L!, RequestAPI.getPostArgs(L!)) }),
            ("get_body_data", { L in luaFinish(L!, RequestAPI.getBodyData(L!)) }),
            ("raw_header", { L in luaFinish(L!, RequestAPI.withHost(L!) { L, host in luaPushString(L, host.rawHeader); return .values(1) }) }),
            ("read_body", { L in luaFinish(L!, RequestSocketAPI.readBody(L!)) }),
            ("socket", { L in luaFinish(L!, RequestSocketAPI.socket(L!)) }),
            ("discard_body", { L in luaFinish(L!, RequestAPI.withHost(L!) { _, host in host.discardBody(); return .values(0) }) }),
        ]
        for (name, function) in functions + RequestRewriteAPI.requestFunctions + RequestBodyAPI.functions { luaSetField(L, -1, name, function, upvalue: worker) }
        lua_setfield(L, -2, "req")
        // ngx.resp
        lua_createtable(L, 0, 1)
        luaSetField(L, -1, "get_headers", { L in luaFinish(L!, RequestRewriteAPI.getResponseHeaders(L!)) }, upvalue: worker)
        lua_setfield(L, -2, "resp")
        installHeadersMetatable(L)
    }

    /// An empty table on the `ngx` table whose reads and writes go to the current request.
    private static func installMagicTable(
        _ L: LuaState,
        _ name: String,
        worker: UnsafeMutableRawPointer,
        get: lua_CFunction,
        set: lua_CFunction
    ) {
        lua_createtable(L, 0, 0)
        lua_createtable(L, 0, 2)
        luaSetField(L, -1, "__index", get, upvalue: worker)
        luaSetField(L, -1, "__newindex", set, upvalue: worker)
        lua_setmetatable(L, -2)
        lua_setfield(L, -2, name)
    }

    static func host(_ L: LuaState) -> LuaRequestHost? {
        LuaWorker.from(L).current?.context.request
    }

    /// A request API called where there is no request: a timer has the reference's fake
    /// request, whose API says it is disabled; elsewhere (init) there is none at all.
    static func noRequest(_ L: LuaState) -> LuaReturn {
        if case .timer? = LuaWorker.from(L).current?.context.kind { return L.fail("API disabled in the current context") }
        return L.fail("no request found")
    }

    static func withHost(_ L: LuaState, _ body: (LuaState, LuaRequestHost) -> LuaReturn) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        return body(L, host)
    }

    // MARK: ngx.var

    static func getVariable(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        if lua_type(L, 2) == LUA_TNUMBER {
            // A number names a regex capture (`ngx.var[1]`), as in the reference.
            guard let value = host.capture(luaToInteger(L, 2)) else {
                lua_pushnil(L)
                return .values(1)
            }
            luaPushString(L, value)
            return .values(1)
        }
        guard let name = luaString(L, 2), let value = host.variable(lowercased(name)) else {
            lua_pushnil(L)
            return .values(1)
        }
        luaPushString(L, value)
        return .values(1)
    }

    /// nginx looks variables up by their lower-cased name (`ngx.var.ARG_A` is `$arg_a`); only
    /// names with an upper-case letter pay for the copy.
    @inline(__always)
    private static func lowercased(_ name: String) -> String {
        guard name.utf8.containsByte(where: { $0 >= 0x41 && $0 <= 0x5a }) else { return name }
        return String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// `max` of `get_headers` / `get_uri_args`: absent or negative is 100, 0 is no limit, as in
    /// the reference.
    private static func limit(_ L: LuaState, _ index: Int32) -> Int {
        guard lua_type(L, index) == LUA_TNUMBER else { return NgxCodec.defaultMaxArgs }
        let value = LuaNumber.clamped(lua_tonumber(L, index))
        return value < 0 ? NgxCodec.defaultMaxArgs : value == 0 ? Int.max : value
    }

    static func setVariable(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        guard let name = luaString(L, 2) else { return L.fail("bad variable name") }
        let value = luaIsNoneOrNil(L, 3) ? nil : luaString(L, 3)
        if !host.setVariable(name, value) { return L.fail("variable \"\(name)\" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use \"set $\(name) '';\" in the config file to define it first") }
        return .values(0)
    }

    // MARK: ngx.header

    /// nginx normalises `content_type` to `Content-Type` when setting headers from Lua.
    static func headerName(_ L: LuaState, _ index: Int32) -> String? {
        guard let name = luaString(L, index) else { return nil }
        if LuaWorker.from(L).current?.context.request?.transformsUnderscores == false { return name }
        // Byte by byte, and only when needed: `String.replacing` goes through the generic
        // collection algorithms and cost a seventh of a header filter's request.
        guard name.utf8.containsByte(where: { $0 == UInt8(ascii: "_") }) else { return name }
        return String(decoding: name.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
    }

    static func getHeader(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        guard let name = headerName(L, 2), let values = host.responseHeader(name), !values.isEmpty else {
            lua_pushnil(L)
            return .values(1)
        }
        if values.count == 1 {
            luaPushString(L, values[0])
        } else {
            lua_createtable(L, Int32(values.count), 0)
            for (index, value) in values.enumerated() {
                luaPushString(L, value)
                lua_rawseti(L, -2, Int32(index + 1))
            }
        }
        return .values(1)
    }

    static func setHeader(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        guard let name = headerName(L, 2) else { return L.fail("bad header name") }
        if LuaWorker.from(L).current?.context.headersSentForLua == true {
            // The reference logs this and carries on.
            LuaWorker.from(L).log(.error, "attempt to set ngx.header.HEADER after sending out response headers")
            return .values(0)
        }
        switch lua_type(L, 3) {
        case LUA_TNIL:
            host.setResponseHeader(name, nil)
        case LUA_TTABLE:
            var values: [String] = []
            let count = Int32(lua_objlen(L, 3))
            if count > 0 {
                for index in 1...count {
                    lua_rawgeti(L, 3, index)
                    if let value = luaString(L, -1) { values.append(value) }
                    luaPop(L, 1)
                }
            }
            host.setResponseHeader(name, values)
        default:
            guard let value = luaString(L, 3) else { return L.fail("bad header value") }
            if isContentLength(name), !isLength(value) { return L.fail("failed to set header") }
            host.setResponseHeader(name, [value])
        }
        return .values(0)
    }

    // MARK: ngx.req

    /// What `ngx.req.get_headers()` tables share: `h.user_agent` and `h["User-Agent"]` find
    /// `user-agent`, as in the reference.
    private static let headersMetatable = LuaRegistrySlot()

    static func pushHeadersMetatable(_ L: LuaState) { headersMetatable.push(L) }

    private static func installHeadersMetatable(_ L: LuaState) {
        let index = """
            return function(headers, key)
                if type(key) ~= "string" then return nil end
                local normalized = key:lower():gsub("_", "-")
                if normalized ~= key then return rawget(headers, normalized) end
            end
            """
        lua_createtable(L, 0, 1)
        if luaL_loadbuffer(L, index, index.utf8.count, "=ngx.req.get_headers") == 0, lua_pcall(L, 0, 1, 0) == 0 {
            lua_setfield(L, -2, "__index")
        } else {
            luaPop(L, 1)
        }
        headersMetatable.store(L)
    }

    /// `ngx.req.get_headers(max?, raw?)`: with `raw`, names keep their case and there is no
    /// normalizing metatable.
    static func getHeaders(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        let raw = lua_gettop(L) >= 2 && lua_toboolean(L, 2) != 0
        let maximum = limit(L, 1)
        let all = host.requestHeaders
        let headers = all.prefix(maximum)
        lua_createtable(L, 0, Int32(clamping: headers.count))
        let table = lua_gettop(L)
        if !raw {
            headersMetatable.push(L)
            lua_setmetatable(L, -2)
        }
        for (name, value) in headers {
            // A repeated header becomes a table of its values, in order, as in the reference.
            luaPushString(L, raw ? name : name.lowercased())
            luaPushString(L, value)
            CodecAPI.addRepeatableField(L, table: table)
        }
        if all.count > maximum {
            luaPushString(L, "truncated")
            return .values(2)
        }
        return .values(1)
    }

    static func getBodyData(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        guard let body = host.requestBody, !body.isEmpty else {
            lua_pushnil(L)
            return .values(1)
        }
        body.withUnsafeBytes { luaPushBytes(L, $0) }
        return .values(1)
    }

    static func getPostArgs(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        if host.requestBodyFile != nil { return L.softFailure("request body in temp file not supported") }
        let maximum = lua_gettop(L) >= 1 ? lua_tonumber(L, 1) : Double(NgxCodec.defaultMaxArgs)
        lua_settop(L, 0)
        let body = host.requestBody ?? []
        body.withUnsafeBytes { luaPushBytes(L, $0) }
        lua_pushnumber(L, maximum)
        return CodecAPI.decodeArgs(L)
    }

    /// `ngx.req.get_uri_args(max?)`: with more than `max` arguments, the first `max` and
    /// `"truncated"`.
    static func getURIArgs(_ L: LuaState) -> LuaReturn {
        guard let host = host(L) else { return RequestAPI.noRequest(L) }
        let maximum = limit(L, 1)
        let query = Array(host.query.utf8)
        lua_settop(L, 0)
        query.withUnsafeBytes { luaPushBytes(L, $0) }
        lua_pushinteger(L, lua_Integer(maximum == Int.max ? 0 : maximum))
        return CodecAPI.decodeArgs(L)
    }
}
