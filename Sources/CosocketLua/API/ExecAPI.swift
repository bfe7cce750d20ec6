import CLuaJIT

/// `ngx.exec(uri, args?)`: an internal redirect. The handler ends here (the call never
/// returns, as the reference's yields); the host takes the request to the new URI's location
/// once the phase has ended (see ``LuaRequestHost/internalRedirect(path:args:)``).
enum ExecAPI {
    static func exec(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 || count == 2 else { return L.fail("expecting one or two arguments, but got \(count)") }
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current, let host = coroutine.context.request else { return L.fail("no request object found") }
        guard lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER, let raw = luaBytes(L, 1) else {
            return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))")
        }
        guard raw.count > 0 else { return L.fail("The uri argument is empty") }
        let phase = coroutine.context.phaseName
        guard ["rewrite", "access", "content"].contains(phase) else {
            return L.fail("API disabled in the context of \(coroutine.context.disabledContextName)")
        }
        guard let target = SafeURI.split(raw) else {
            worker.log(.error, "unsafe URI \"\(String(decoding: raw, as: UTF8.self))\" was detected")
            return L.fail("unsafe uri")
        }
        var extra: String?
        if count == 2 {
            switch lua_type(L, 2) {
            case LUA_TNUMBER, LUA_TSTRING:
                extra = luaString(L, 2)
            case LUA_TTABLE:
                let encoded = CodecAPI.encodeArgs(L, table: 2)
                guard case .values = encoded else { return encoded }
                extra = luaString(L, -1)
            case LUA_TNIL:
                break
            default:
                return L.argumentError(2, "string, number, or table expected, but got \(luaTypeName(L, 2))")
            }
        }
        let args = SafeURI.join(target.args, extra)
        if coroutine.context.headersSentForLua || !host.internalRedirect(path: target.path, args: args) {
            return L.fail("attempt to call ngx.exec after sending out response headers")
        }
        // The phase ends as after `ngx.exit(ngx.OK)`; the host then jumps.
        lua_settop(L, 0)
        lua_pushinteger(L, 0)
        return NgxCoreAPI.exit(L)
    }
}

/// nginx's `ngx_http_parse_unsafe_uri`, as `ngx.exec` and `ngx.location.capture` use it: the
/// query string split off at the first `?`, and a `..` segment or a NUL byte refused.
enum SafeURI {
    static func split(_ bytes: UnsafeRawBufferPointer) -> (path: String, args: String?)? {
        let question = bytes.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = UnsafeRawBufferPointer(rebasing: bytes[..<(question ?? bytes.count)])
        let dot = UInt8(ascii: "."), slash = UInt8(ascii: "/")
        var index = 0
        while index < pathBytes.count {
            let byte = pathBytes[index]
            if byte == 0 { return nil }
            // A `..` segment: at the start or after a slash, then a slash or the end.
            let segmentStart = index == 0 || pathBytes[index - 1] == slash
            if segmentStart, byte == dot, index + 1 < pathBytes.count, pathBytes[index + 1] == dot,
                index + 2 == pathBytes.count || pathBytes[index + 2] == slash
            {
                return nil
            }
            index += 1
        }
        let path = String(decoding: pathBytes, as: UTF8.self)
        guard let question else { return (path, nil) }
        let args = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(question + 1)...]), as: UTF8.self)
        return (path, args)
    }

    /// The URI's own query string, then `&` and the extra arguments, as the reference joins them.
    static func join(_ own: String?, _ extra: String?) -> String? {
        guard let extra, !extra.isEmpty else { return own }
        guard let own, !own.isEmpty else { return extra }
        return own + "&" + extra
    }
}
