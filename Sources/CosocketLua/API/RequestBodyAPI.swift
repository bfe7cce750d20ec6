import CLuaJIT

/// `ngx.req.set_body_data`, `init_body`, `append_body`, `finish_body`, `get_body_file` and
/// `set_body_file`, with the reference's argument checks and words.
enum RequestBodyAPI {
    static let functions: [(String, lua_CFunction)] = [
        ("set_body_data", { L in luaFinish(L!, RequestBodyAPI.setBodyData(L!)) }),
        ("init_body", { L in luaFinish(L!, RequestBodyAPI.initBody(L!)) }),
        ("append_body", { L in luaFinish(L!, RequestBodyAPI.appendBody(L!)) }),
        ("finish_body", { L in luaFinish(L!, RequestBodyAPI.edit(L!, .finish)) }),
        ("set_body_file", { L in luaFinish(L!, RequestBodyAPI.setBodyFile(L!)) }),
        ("get_body_file", { L in
            luaFinish(L!, RequestAPI.withHost(L!) { L, host in
                if let path = host.requestBodyFile { luaPushString(L, path) } else { lua_pushnil(L) }
                return .values(1)
            })
        }),
    ]

    private static func edit(_ L: LuaState, _ edit: RequestBodyEdit) -> LuaReturn {
        guard let host = RequestAPI.host(L) else { return RequestAPI.noRequest(L) }
        if let problem = host.editBody(edit) { return L.fail(problem) }
        return .values(0)
    }

    /// The one string (or number) argument of `set_body_data` and `append_body`.
    private static func withData(_ L: LuaState, _ body: (UnsafeRawBufferPointer) -> LuaReturn) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("expecting 1 arguments but seen \(count)") }
        guard lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER else {
            return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))")
        }
        var length = 0
        guard let pointer = lua_tolstring(L, 1, &length) else { return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))") }
        return body(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    static func setBodyData(_ L: LuaState) -> LuaReturn {
        withData(L) { edit(L, .replace($0)) }
    }

    static func appendBody(_ L: LuaState) -> LuaReturn {
        withData(L) { edit(L, .append($0)) }
    }

    static func initBody(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count <= 1 else { return L.fail("expecting 0 or 1 arguments but seen \(count)") }
        guard count == 1 else { return edit(L, .begin(bufferSize: nil)) }
        guard lua_type(L, 1) == LUA_TNUMBER else { return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))") }
        let size = LuaNumber.truncated(lua_tonumber(L, 1))
        guard size >= 0 else { return L.fail("bad size argument: \(Int32(truncatingIfNeeded: size))") }
        return edit(L, .begin(bufferSize: size))
    }

    static func setBodyFile(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard (1...2).contains(count) else { return L.fail("expecting 1 or 2 arguments but seen \(count)") }
        guard lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER, let path = luaString(L, 1) else {
            return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))")
        }
        var autoClean = false
        if count == 2 {
            guard lua_type(L, 2) == LUA_TBOOLEAN else { return L.argumentError(2, "boolean expected, got \(luaTypeName(L, 2))") }
            autoClean = lua_toboolean(L, 2) != 0
        }
        return edit(L, .file(path: path, autoClean: autoClean))
    }
}
