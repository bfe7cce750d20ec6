import CLuaJIT

/// `ngx.re.sub` and `ngx.re.gsub`: a template (`$0`, `${1}`, `$$`) or a function of the
/// captures table replaces the first or every match, as lua-resty-core does it.
enum RegexSubstitutionAPI {
    /// `sub(subject, regex, replace, options?)` / `gsub(...)`: the new string and the number of
    /// replacements, or nil, nil and the error.
    static func substitute(_ L: LuaState, global: Bool) -> LuaReturn {
        lua_settop(L, 4)
        let isFunction = lua_type(L, 3) == LUA_TFUNCTION
        if !isFunction && lua_type(L, 3) != LUA_TSTRING {
            guard RegexAPI.subject(L, 3) != nil else { return .rawError }
        }
        let regex: CompiledRegex
        switch compile(L, template: isFunction ? nil : 3) {
        case .regex(let compiled): regex = compiled
        case .raise(let raised): return raised
        case .failed(let message):
            lua_pushnil(L)
            lua_pushnil(L)
            message.withUnsafeBytes { luaPushBytes(L, $0) }
            return .values(3)
        }
        guard let subject = RegexAPI.subject(L, 1) else { return .rawError }
        let context = LuaWorker.from(L).regexCache.context
        var output: [UInt8] = []
        var count = 0
        var offset = 0
        var copied = 0
        while true {
            var rc = regex.match(subject, from: offset, context: context)
            if rc == RegexStatus.noMatch { break }
            if let failure = RegexAPI.matchFailure(rc, regex) {
                lua_pushnil(L)
                lua_pushnil(L)
                luaPushString(L, failure)
                return .values(3)
            }
            if rc == 0 { rc = 1 }
            count += 1
            let whole = regex.range(of: 0) ?? offset..<offset
            output += subject[copied..<whole.lowerBound]
            if isFunction {
                // The captures are read before the call: the function may match with the
                // same (cached) pattern again.
                lua_pushvalue(L, 3)
                lua_createtable(L, Int32(regex.captureCount), Int32(regex.names.count + 1))
                RegexAPI.pushCaptures(L, regex, rc: Int(rc), subject: subject)
                guard lua_pcall(L, 1, 1, 0) == 0, let piece = RegexAPI.subject(L, lua_gettop(L)) else { return .rawError }
                output += piece
                luaPop(L, 1)
            } else {
                regex.template?.expand(into: &output, subject: subject, regex: regex, count: Int(rc))
            }
            copied = whole.upperBound
            offset = copied
            if whole.isEmpty {
                offset += 1
                if offset > subject.count { break }
            }
            if !global { break }
        }
        if count == 0 {
            lua_pushvalue(L, 1)
        } else {
            output += subject[copied...]
            output.withUnsafeBytes { luaPushBytes(L, $0) }
        }
        lua_pushinteger(L, lua_Integer(count))
        return .values(2)
    }

    /// The pattern compiled with its template (`template` = the stack index of the
    /// replacement string), through the worker's substitution cache.
    private static func compile(_ L: LuaState, template: Int32?) -> RegexAPI.Compiled {
        let options: (RegexOptions, UnsafeRawBufferPointer)
        switch RegexAPI.options(L, 4) {
        case .success(let parsed): options = parsed
        case .failure(let failure): return .raise(L.fail(failure.message))
        }
        let pattern: UnsafeRawBufferPointer
        switch RegexAPI.pattern(L, 2) {
        case .success(let bytes): pattern = bytes
        case .failure(let failure): return .raise(L.fail(failure.message))
        }
        let worker = LuaWorker.from(L)
        let replacement = template.flatMap { luaBytes(L, $0) }
        switch worker.regexCache.substitutionRegex(pattern, options: options.0, optionText: options.1, template: replacement) {
        case .success(let regex):
            return .regex(regex)
        case .failure(.compile(let error)):
            return .failed(error.bytes)
        case .failure(.template(let failure)):
            worker.log(.error, failure.logMessage, in: worker.current?.context)
            return .failed(Array("failed to compile the replacement template".utf8))
        }
    }
}
