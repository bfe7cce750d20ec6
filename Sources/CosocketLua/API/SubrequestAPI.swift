import CLuaJIT
import NIOCore

/// One subrequest `ngx.location.capture_multi` asks for, its options checked.
public struct SubrequestSpec {
    /// How the subrequest's variables relate to its parent's (`copy_all_vars`,
    /// `share_all_vars`; by default it starts with none set).
    public enum Variables: Sendable { case fresh, copy, share }

    public var path: String
    public var args: String?
    /// nginx's method bit (`ngx.HTTP_GET` ...); a number the host does not know is refused
    /// there, as the reference refuses it when it adjusts the subrequest.
    public var method: Int
    /// The `body` option.
    public var body: [UInt8]?
    public var alwaysForwardBody: Bool
    public var variables: Variables
    /// The `vars` option, in the table's order.
    public var extraVariables: [(name: String, value: String)]
    /// A registry reference to the `ctx` option's table: the host hands it to the
    /// subrequest's context (``LuaContext/setCtx(reference:)``), which releases it.
    public var ctxReference: Int32?
}

/// What a finished subrequest gives its parent: `res.status`, `res.header`, `res.body`,
/// `res.truncated`.
public struct SubrequestResult {
    public var status: Int
    /// In order; names as set.
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer
    public var truncated: Bool

    public init(status: Int, headers: [(name: String, value: String)], body: ByteBuffer, truncated: Bool) {
        self.status = status
        self.headers = headers
        self.body = body
        self.truncated = truncated
    }
}

/// `ngx.location.capture(uri, options?)` and `ngx.location.capture_multi({ {uri, options?}, ... })`,
/// with the reference's argument rules and words. The calling thread waits until every
/// subrequest has finished, then gets one `res` table per subrequest, in order.
enum SubrequestAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 2)
        luaSetField(L, -1, "capture", { L in luaFinish(L!, SubrequestAPI.capture(L!)) }, upvalue: worker)
        luaSetField(L, -1, "capture_multi", { L in luaFinish(L!, SubrequestAPI.captureMulti(L!)) }, upvalue: worker)
        lua_setfield(L, -2, "location")
        luaSetField(L, -1, "exec", { L in luaFinish(L!, ExecAPI.exec(L!)) }, upvalue: worker)
    }

    /// The one-subrequest form: wraps its arguments as `{ {uri, options?} }`.
    static func capture(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 || count == 2 else { return L.fail("expecting one or two arguments") }
        lua_createtable(L, count, 0)
        lua_insert(L, 1)
        if count == 2 { lua_rawseti(L, 1, 2) }
        lua_rawseti(L, 1, 1)
        lua_createtable(L, 1, 0)
        lua_insert(L, 1)
        lua_rawseti(L, 1, 1)
        return captureMulti(L)
    }

    static func captureMulti(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("only one argument is expected, but got \(count)") }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        let total = lua_objlen(L, 1)
        guard total > 0 else { return L.fail("at least one subrequest should be specified") }
        // One result per subrequest comes back on this stack (the C API guarantees 20 slots).
        guard lua_checkstack(L, Int32(clamping: total + 8)) != 0 else { return L.fail("too many subrequests: \(total)") }
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current, let host = coroutine.context.request else { return L.fail("no request object found") }
        let context = coroutine.context
        guard ["rewrite", "access", "content"].contains(context.phaseName) else {
            return L.fail("API disabled in the context of \(context.disabledContextName)")
        }
        var specs: [SubrequestSpec] = []
        specs.reserveCapacity(min(total, 64))
        func release() {
            for reference in specs.compactMap(\.ctxReference) { luaL_unref(L, luaRegistryIndex, reference) }
        }
        for index in 0..<total {
            lua_settop(L, 1)
            switch readSpec(L, index: index) {
            case .success(let spec): specs.append(spec)
            case .failure(let problem):
                release()
                return problem.raise(L)
            }
        }
        lua_settop(L, 0)
        coroutine.wait = .subrequests
        let problem = host.startSubrequests(specs) { results in
            worker.wake(coroutine, with: .push({ L in
                // The stack may have shrunk since the call: without room, no results (nils).
                guard lua_checkstack(L, Int32(clamping: results.count + 8)) != 0 else { return 0 }
                for result in results { pushResult(L, result) }
                return Int32(clamping: results.count)
            }))
        }
        if let problem {
            // Nothing started: the references are still the caller's to drop.
            coroutine.wait = nil
            release()
            return L.fail(problem)
        }
        return .yield
    }

    /// A refused argument: the message, and whether it is a `bad argument` error.
    private struct Problem: Error {
        var message: String
        var argument: Int32?
        func raise(_ L: LuaState) -> LuaReturn {
            if let argument { return L.argumentError(argument, message) }
            return L.fail(message)
        }
    }

    /// The `index`-th (0-based) entry of the table at 1; leaves the stack as it found it on
    /// success.
    private static func readSpec(_ L: LuaState, index: Int) -> Result<SubrequestSpec, Problem> {
        lua_rawgeti(L, 1, Int32(clamping: index + 1))
        if lua_type(L, -1) == LUA_TNIL { return .failure(Problem(message: "only array-like tables are allowed")) }
        guard lua_type(L, -1) == LUA_TTABLE else {
            return .failure(Problem(message: "the query argument \(index) is not a table, but a \(luaTypeName(L, -1))"))
        }
        let query = lua_gettop(L)
        let arguments = lua_objlen(L, query)
        guard arguments == 1 || arguments == 2 else {
            return .failure(Problem(message: "query argument \(index) expecting one or two arguments"))
        }
        var spec = SubrequestSpec(
            path: "", args: nil, method: 2, body: nil, alwaysForwardBody: false, variables: .fresh, extraVariables: [],
            ctxReference: nil)
        var extraArgs: String?
        if arguments == 2 {
            lua_rawgeti(L, query, 2)
            let options = lua_gettop(L)
            guard lua_type(L, options) == LUA_TTABLE else {
                return .failure(Problem(message: "expecting table as the 2nd argument for subrequest \(index), but got \(luaTypeName(L, options))"))
            }
            lua_getfield(L, options, "args")
            switch lua_type(L, -1) {
            case LUA_TTABLE:
                guard case .values = CodecAPI.encodeArgs(L, table: -1) else {
                    return .failure(Problem(message: luaString(L, -1) ?? "bad args"))
                }
                extraArgs = luaString(L, -1)
            case LUA_TNIL: break
            case LUA_TNUMBER, LUA_TSTRING: extraArgs = luaString(L, -1)
            default: return .failure(Problem(message: "Bad args option value"))
            }
            lua_settop(L, options)
            lua_getfield(L, options, "vars")
            switch lua_type(L, -1) {
            case LUA_TTABLE:
                let table = lua_gettop(L)
                lua_pushnil(L)
                while lua_next(L, table) != 0 {
                    guard lua_type(L, -2) == LUA_TSTRING, let name = luaString(L, -2) else {
                        return .failure(Problem(message: "attempt to use a non-string key in the \"vars\" option table"))
                    }
                    guard lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER else {
                        return .failure(Problem(message: "attempt to use bad variable value type \(luaTypeName(L, -1))"))
                    }
                    lua_pushvalue(L, -1)
                    spec.extraVariables.append((name, luaString(L, -1) ?? ""))
                    luaPop(L, 2)
                }
            case LUA_TNIL: break
            default: return .failure(Problem(message: "Bad vars option value"))
            }
            lua_settop(L, options)
            for (name, variables) in [("share_all_vars", SubrequestSpec.Variables.share), ("copy_all_vars", .copy)] {
                lua_getfield(L, options, name)
                switch lua_type(L, -1) {
                case LUA_TNIL: break
                case LUA_TBOOLEAN:
                    // `share_all_vars` wins over `copy_all_vars`.
                    if lua_toboolean(L, -1) != 0 && spec.variables != .share { spec.variables = variables }
                default: return .failure(Problem(message: "Bad \(name) option value"))
                }
                lua_settop(L, options)
            }
            lua_getfield(L, options, "always_forward_body")
            spec.alwaysForwardBody = lua_toboolean(L, -1) != 0
            lua_settop(L, options)
            lua_getfield(L, options, "method")
            switch lua_type(L, -1) {
            case LUA_TNIL: break
            case LUA_TNUMBER: spec.method = LuaNumber.truncated(lua_tonumber(L, -1))
            default: return .failure(Problem(message: "Bad http request method"))
            }
            lua_settop(L, options)
            lua_getfield(L, options, "ctx")
            switch lua_type(L, -1) {
            case LUA_TNIL: break
            case LUA_TTABLE: break
            default:
                return .failure(Problem(message: "Bad ctx option value type \(luaTypeName(L, -1)), expected a Lua table"))
            }
            let ctxIndex = lua_type(L, -1) == LUA_TTABLE ? lua_gettop(L) : nil
            lua_getfield(L, options, "body")
            switch lua_type(L, -1) {
            case LUA_TNIL: break
            case LUA_TSTRING, LUA_TNUMBER:
                lua_pushvalue(L, -1)
                spec.body = luaBytes(L, -1).map { Array($0) } ?? []
            default: return .failure(Problem(message: "Bad http request body"))
            }
            if let ctxIndex {
                lua_pushvalue(L, ctxIndex)
                spec.ctxReference = luaL_ref(L, luaRegistryIndex)
            }
            lua_settop(L, options)
        }
        lua_rawgeti(L, query, 1)
        guard lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER, let raw = luaBytes(L, -1) else {
            let problem = Problem(message: "string expected, got \(luaTypeName(L, -1))", argument: 3)
            if let reference = spec.ctxReference { luaL_unref(L, luaRegistryIndex, reference) }
            return .failure(problem)
        }
        guard let target = SafeURI.split(raw) else {
            if let reference = spec.ctxReference { luaL_unref(L, luaRegistryIndex, reference) }
            return .failure(Problem(message: "unsafe uri in argument #1: \(String(decoding: raw, as: UTF8.self))"))
        }
        spec.path = target.path
        spec.args = SafeURI.join(target.args, extraArgs)
        return .success(spec)
    }

    /// `res`: `status`, `truncated`, `body`, and `header` (a repeated header's values as a list).
    static func pushResult(_ L: LuaState, _ result: SubrequestResult) {
        lua_createtable(L, 0, 4)
        lua_pushinteger(L, lua_Integer(result.status))
        lua_setfield(L, -2, "status")
        lua_pushboolean(L, result.truncated ? 1 : 0)
        lua_setfield(L, -2, "truncated")
        result.body.withUnsafeReadableBytes { bytes in
            lua_pushlstring(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        lua_setfield(L, -2, "body")
        lua_createtable(L, 0, Int32(clamping: result.headers.count))
        let table = lua_gettop(L)
        for (name, value) in result.headers {
            luaPushString(L, name)
            luaPushString(L, value)
            CodecAPI.addRepeatableField(L, table: table)
        }
        lua_setfield(L, -2, "header")
    }
}
