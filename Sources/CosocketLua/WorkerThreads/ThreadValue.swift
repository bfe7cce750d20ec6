import CLuaJIT

/// A Lua value on its way between a worker's VM and a worker thread's
/// (`ngx.run_worker_thread`): what the reference lets cross (nil, booleans, numbers, strings,
/// light userdata such as `ngx.null`, and tables of those), copied out of one VM and pushed
/// into the other, which share nothing.
enum ThreadValue: Sendable {
    case none
    case boolean(Bool)
    case number(Double)
    case string([UInt8])
    /// The pointer's bits: it is only carried, never dereferenced.
    case lightUserdata(UInt)
    case table([(key: ThreadValue, value: ThreadValue)])

    /// The reference's limit on table nesting, which is also how it catches cycles.
    static let maximumDepth = 100

    /// Copies the value at `index`; `role` ("argument", "return value") goes into the
    /// reference's error text.
    static func read(_ L: LuaState, _ index: Int32, role: String, depth: Int = 0) -> Result<ThreadValue, ThreadValueError> {
        let index = index < 0 ? lua_gettop(L) + index + 1 : index
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .success(.none)
        case LUA_TBOOLEAN: return .success(.boolean(lua_toboolean(L, index) != 0))
        case LUA_TNUMBER: return .success(.number(lua_tonumber(L, index)))
        case LUA_TSTRING: return .success(.string(luaBytes(L, index).map { Array($0) } ?? []))
        case LUA_TLIGHTUSERDATA: return .success(.lightUserdata(UInt(bitPattern: lua_touserdata(L, index))))
        case LUA_TTABLE:
            guard depth < maximumDepth else {
                return .failure(ThreadValueError(message: "suspicious circular references, table depth exceed max depth: \(maximumDepth) in the \(role)"))
            }
            var entries: [(key: ThreadValue, value: ThreadValue)] = []
            lua_pushnil(L)
            while lua_next(L, index) != 0 {
                let key = read(L, -2, role: role, depth: depth + 1)
                let value = read(L, -1, role: role, depth: depth + 1)
                luaPop(L, 1)
                switch (key, value) {
                case (.success(let k), .success(let v)): entries.append((k, v))
                case (.failure(let error), _), (_, .failure(let error)):
                    luaPop(L, 1)
                    return .failure(error)
                }
            }
            return .success(.table(entries))
        default:
            let name = ["function": "LUA_TFUNCTION", "thread": "LUA_TTHREAD", "userdata": "LUA_TUSERDATA"][luaTypeName(L, index)] ?? "LUA_TUSERDATA"
            return .failure(ThreadValueError(message: "unsupported Lua type: \(name) in the \(role)"))
        }
    }

    func push(_ L: LuaState) {
        switch self {
        case .none: lua_pushnil(L)
        case .boolean(let value): lua_pushboolean(L, value ? 1 : 0)
        case .number(let value): lua_pushnumber(L, value)
        case .string(let bytes): bytes.withUnsafeBytes { luaPushBytes(L, $0) }
        case .lightUserdata(let bits): lua_pushlightuserdata(L, UnsafeMutableRawPointer(bitPattern: bits))
        case .table(let entries):
            lua_createtable(L, 0, Int32(clamping: entries.count))
            for (key, value) in entries {
                key.push(L)
                value.push(L)
                lua_rawset(L, -3)
            }
        }
    }
}

struct ThreadValueError: Error, Sendable {
    let message: String
}
