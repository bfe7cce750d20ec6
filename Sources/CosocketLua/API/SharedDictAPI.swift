import CLuaJIT

/// `ngx.shared.NAME`: each dict is a table `{zone_userdata}` with a metatable shared by all
/// dicts whose `__index` is itself, as lua-nginx-module builds them, so code that reaches for
/// the metatable (lua-resty-core does) finds the methods there.
///
/// The methods lua-resty-core implements in Lua (get, set, incr, ttl, ...) check their
/// arguments in its order and words, including the errors that arise in its own code (their
/// positions name `resty/core/shdict.lua`); the ones it leaves to C (the list methods,
/// get_keys, flush_expired) check them as `ngx_http_lua_shdict.c` does.
enum SharedDictAPI {
    /// Where lua-resty-core raises the errors its Lua code makes (0.1.25's line numbers).
    private static let restyCore = "/usr/share/lua/5.1/resty/core/shdict.lua"

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer, zones: [String: SharedDict]) {
        lua_createtable(L, 0, Int32(zones.count))
        lua_createtable(L, 0, 24)
        let methods: [(String, lua_CFunction)] = [
            ("get", { L in luaFinish(L!, SharedDictAPI.get(L!, stale: false)) }),
            ("get_stale", { L in luaFinish(L!, SharedDictAPI.get(L!, stale: true)) }),
            ("set", { L in luaFinish(L!, SharedDictAPI.store(L!, .set, safe: false)) }),
            ("safe_set", { L in luaFinish(L!, SharedDictAPI.store(L!, .set, safe: true)) }),
            ("add", { L in luaFinish(L!, SharedDictAPI.store(L!, .add, safe: false)) }),
            ("safe_add", { L in luaFinish(L!, SharedDictAPI.store(L!, .add, safe: true)) }),
            ("replace", { L in luaFinish(L!, SharedDictAPI.store(L!, .replace, safe: false)) }),
            ("delete", { L in
                let L = L!
                lua_settop(L, 2)
                return luaFinish(L, SharedDictAPI.store(L, .set, safe: false))
            }),
            ("incr", { L in luaFinish(L!, SharedDictAPI.incr(L!)) }),
            ("ttl", { L in luaFinish(L!, SharedDictAPI.ttl(L!)) }),
            ("expire", { L in luaFinish(L!, SharedDictAPI.expire(L!)) }),
            ("flush_all", { L in luaFinish(L!, SharedDictAPI.flushAll(L!)) }),
            ("capacity", { L in luaFinish(L!, SharedDictAPI.capacity(L!, free: false)) }),
            ("free_space", { L in luaFinish(L!, SharedDictAPI.capacity(L!, free: true)) }),
            ("lpush", { L in luaFinish(L!, SharedDictAPI.push(L!, front: true)) }),
            ("rpush", { L in luaFinish(L!, SharedDictAPI.push(L!, front: false)) }),
            ("lpop", { L in luaFinish(L!, SharedDictAPI.pop(L!, front: true, length: false)) }),
            ("rpop", { L in luaFinish(L!, SharedDictAPI.pop(L!, front: false, length: false)) }),
            ("llen", { L in luaFinish(L!, SharedDictAPI.pop(L!, front: false, length: true)) }),
            ("get_keys", { L in luaFinish(L!, SharedDictAPI.scan(L!, keys: true)) }),
            ("flush_expired", { L in luaFinish(L!, SharedDictAPI.scan(L!, keys: false)) }),
        ]
        for (name, function) in methods { luaSetField(L, -1, name, function, upvalue: worker) }
        lua_pushvalue(L, -1)
        lua_setfield(L, -2, "__index")
        for (name, zone) in zones.sorted(by: { $0.key < $1.key }) {
            luaPushString(L, name)
            lua_createtable(L, 1, 0)
            let userdata = lua_newuserdata(L, MemoryLayout<SharedDictZone>.size)!
            userdata.storeBytes(of: SharedDictZone(zone), as: SharedDictZone.self)
            lua_rawseti(L, -2, 1)
            lua_pushvalue(L, -3)
            lua_setmetatable(L, -2)
            lua_rawset(L, -4)
        }
        luaPop(L, 1)
        lua_setfield(L, -2, "shared")
    }

    // MARK: Arguments

    /// The dict behind the table at index 1: its userdata must be a zone's (``SharedDictZone``;
    /// the configuration keeps the dict alive for the worker's life).
    private static func zone(_ L: LuaState) -> SharedDict? {
        guard lua_type(L, 1) == LUA_TTABLE else { return nil }
        lua_rawgeti(L, 1, 1)
        defer { luaPop(L, 1) }
        guard lua_type(L, -1) == LUA_TUSERDATA, lua_objlen(L, -1) == MemoryLayout<SharedDictZone>.size,
              let raw = lua_touserdata(L, -1) else { return nil }
        return SharedDictZone.dict(at: raw)
    }

    private enum KeyCheck {
        /// The key's bytes, valid while its Lua string stays at its stack index.
        case key(UnsafeRawBufferPointer)
        case failed(LuaReturn)
    }

    /// lua-resty-core's key rules: `nil key`, anything else through `tostring`, then
    /// `empty key` / `key too long` (beyond 65535 bytes).
    private static func key(_ L: LuaState, _ index: Int32, converting: Bool) -> KeyCheck {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE:
            return .failed(L.softFailure("nil key"))
        case LUA_TSTRING, LUA_TNUMBER:
            break
        default:
            guard converting else {
                return .failed(L.argumentError(index, "string expected, got \(luaTypeName(L, index))"))
            }
            lua_getfield(L, luaGlobalsIndex, "tostring")
            lua_pushvalue(L, index)
            guard lua_pcall(L, 1, 1, 0) == 0 else { return .failed(.rawError) }
            lua_replace(L, index)
        }
        guard let bytes = luaBytes(L, index) else { return .failed(L.softFailure("nil key")) }
        if bytes.isEmpty { return .failed(L.softFailure("empty key")) }
        if bytes.count > 65535 { return .failed(L.softFailure("key too long")) }
        return .key(bytes)
    }

    /// nginx's cached time, as its shdict code reads `ngx_timeofday`.
    @inline(__always)
    private static func now(_ L: LuaState) -> UInt64 { SharedDict.cachedMilliseconds }

    private static func badZone(_ L: LuaState) -> LuaReturn { L.fail("bad \"zone\" argument") }

    /// A Lua error raised inside lua-resty-core's shdict.lua, at its line `line`.
    private static func restyCoreError(_ L: LuaState, line: Int, _ message: String) -> LuaReturn {
        luaPushString(L, "\(restyCore):\(line): \(message)")
        return .rawError
    }

    /// `exptime * 1000` converted to a C `long`, as the FFI call does; `nil` when the
    /// multiplication itself fails (a non-numeric value).
    private static func milliseconds(_ L: LuaState, _ index: Int32) -> Int? {
        guard lua_isnumber(L, index) != 0 else { return nil }
        return LuaNumber.truncated(lua_tonumber(L, index) * 1000)
    }

    // MARK: Methods lua-resty-core implements

    static func get(_ L: LuaState, stale: Bool) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: true) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        switch dict.withStore(now: now(L), { $0.get(key, stale: stale, now: $1) }) {
        case .missing:
            lua_pushnil(L)
            return .values(1)
        case .list:
            return L.softFailure("value is a list")
        case .found(let value, let flags, let isStale):
            push(L, value)
            if stale {
                if flags != 0 { lua_pushnumber(L, Double(Int32(bitPattern: flags))) } else { lua_pushnil(L) }
                lua_pushboolean(L, isStale ? 1 : 0)
                return .values(3)
            }
            guard flags != 0 else { return .values(1) }
            lua_pushnumber(L, Double(Int32(bitPattern: flags)))
            return .values(2)
        }
    }

    private static func push(_ L: LuaState, _ value: SharedDictValue) {
        switch value {
        case .string(let bytes): bytes.withUnsafeBytes { luaPushBytes(L, $0) }
        case .number(let number): lua_pushnumber(L, number)
        case .boolean(let flag): lua_pushboolean(L, flag ? 1 : 0)
        }
    }

    static func store(_ L: LuaState, _ mode: SharedDictStore.StoreMode, safe: Bool) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        var exptime = 0
        switch lua_type(L, 4) {
        case LUA_TNONE, LUA_TNIL:
            break
        case LUA_TBOOLEAN where lua_toboolean(L, 4) == 0:
            break
        case LUA_TNUMBER:
            let seconds = lua_tonumber(L, 4)
            if seconds < 0 { return L.fail("bad \"exptime\" argument") }
            exptime = LuaNumber.truncated(seconds * 1000)
        default:
            return restyCoreError(L, line: 490, "attempt to compare \(luaTypeName(L, 4)) with number")
        }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: true) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        let value: SharedDictValue?
        switch lua_type(L, 3) {
        case LUA_TSTRING: value = .string(Array(luaBytes(L, 3) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
        case LUA_TNUMBER: value = .number(lua_tonumber(L, 3))
        case LUA_TNIL, LUA_TNONE: value = nil
        case LUA_TBOOLEAN: value = .boolean(lua_toboolean(L, 3) != 0)
        default: return L.softFailure("bad value type")
        }
        // The FFI call converts `flags` to a C int.
        var flags: Int32 = 0
        switch lua_type(L, 5) {
        case LUA_TNONE, LUA_TNIL: break
        case LUA_TBOOLEAN: flags = lua_toboolean(L, 5) != 0 ? 1 : 0
        case LUA_TNUMBER: flags = LuaNumber.truncated32(lua_tonumber(L, 5))
        default:
            return restyCoreError(L, line: 542, "bad argument #10 to 'ngx_lua_ffi_shdict_store' (cannot convert '\(luaTypeName(L, 5))' to 'int')")
        }
        let result = dict.withStore(now: now(L)) {
            $0.store(key, value, mode: mode, safe: safe, exptime: exptime, flags: UInt32(bitPattern: flags), now: $1)
        }
        lua_pushboolean(L, result.ok ? 1 : 0)
        if let error = result.error { luaPushString(L, error) } else { lua_pushnil(L) }
        lua_pushboolean(L, result.forcible ? 1 : 0)
        return .values(3)
    }

    /// `tonumber(v)` for a value that is not a number already; `nil` when it is not numeric.
    private static func number(_ L: LuaState, _ index: Int32) -> Double? {
        guard lua_isnumber(L, index) != 0 else { return nil }
        return lua_tonumber(L, index)
    }

    static func incr(_ L: LuaState) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: true) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        guard let delta = number(L, 3) else { return restyCoreError(L, line: 760, "cannot convert 'nil' to 'double'") }
        var initial: Double?
        if lua_toboolean(L, 4) != 0 {
            guard let value = number(L, 4) else { return L.fail("bad init arg: number expected, got \(luaTypeName(L, 4))") }
            initial = value
        }
        var initialTTL = 0
        if !luaIsNoneOrNil(L, 5) {
            guard let seconds = number(L, 5) else { return L.fail("bad init_ttl arg: number expected, got \(luaTypeName(L, 5))") }
            if seconds < 0 { return L.fail("bad \"init_ttl\" argument") }
            if initial == nil { return L.fail("must provide \"init\" when providing \"init_ttl\"") }
            initialTTL = LuaNumber.truncated(seconds * 1000)
        }
        let result = dict.withStore(now: now(L)) { $0.incr(key, by: delta, initial: initial, initialTTL: initialTTL, now: $1) }
        guard let value = result.value else { return L.softFailure(result.error ?? "not found") }
        lua_pushnumber(L, value)
        guard initial != nil else { return .values(1) }
        lua_pushnil(L)
        lua_pushboolean(L, result.forcible ? 1 : 0)
        return .values(3)
    }

    static func ttl(_ L: LuaState) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: true) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        guard let milliseconds = dict.withStore(now: now(L), { $0.ttl(key, now: $1) }) else { return L.softFailure("not found") }
        lua_pushnumber(L, Double(milliseconds) / 1000)
        return .values(1)
    }

    static func expire(_ L: LuaState) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        if lua_toboolean(L, 3) == 0 { return L.fail("bad \"exptime\" argument") }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: true) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        guard let milliseconds = milliseconds(L, 3) else {
            return restyCoreError(L, line: 873, "attempt to perform arithmetic on local 'exptime' (a \(luaTypeName(L, 3)) value)")
        }
        guard dict.withStore(now: now(L), { $0.setExpire(key, milliseconds: milliseconds, now: $1) }) else { return L.softFailure("not found") }
        lua_pushboolean(L, 1)
        return .values(1)
    }

    static func flushAll(_ L: LuaState) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        dict.withStore(now: now(L)) { $0.flushAll(now: $1) }
        return .values(0)
    }

    static func capacity(_ L: LuaState, free: Bool) -> LuaReturn {
        guard let dict = zone(L) else { return badZone(L) }
        lua_pushnumber(L, Double(free ? dict.withStore(now: now(L)) { store, _ in store.freeSpace } : dict.size))
        return .values(1)
    }

    // MARK: Methods left to C

    /// `lpush`/`rpush`.
    static func push(_ L: LuaState, front: Bool) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 3 else { return L.fail("expecting 3 arguments, but only seen \(count)") }
        guard let dict = zone(L) else { return badZone(L) }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: false) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        let value: SharedDictValue
        switch lua_type(L, 3) {
        case LUA_TSTRING: value = .string(Array(luaBytes(L, 3) ?? UnsafeRawBufferPointer(start: nil, count: 0)))
        case LUA_TNUMBER: value = .number(lua_tonumber(L, 3))
        default: return L.softFailure("bad value type")
        }
        switch dict.withStore(now: now(L), { $0.push(key, value, front: front, now: $1) }) {
        case .success(let length):
            lua_pushnumber(L, Double(length))
            return .values(1)
        case .failure(let error):
            return L.softFailure(error.message)
        }
    }

    /// `lpop`/`rpop`, and `llen` (`length`).
    static func pop(_ L: LuaState, front: Bool, length: Bool) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else { return L.fail("expecting 2 arguments, but only seen \(count)") }
        guard let dict = zone(L) else { return badZone(L) }
        let key: UnsafeRawBufferPointer
        switch self.key(L, 2, converting: false) {
        case .failed(let result): return result
        case .key(let bytes): key = bytes
        }
        if length {
            switch dict.withStore(now: now(L), { $0.length(key, now: $1) }) {
            case .success(let items):
                lua_pushnumber(L, Double(items))
                return .values(1)
            case .failure(let error):
                return L.softFailure(error.message)
            }
        }
        switch dict.withStore(now: now(L), { $0.pop(key, front: front, now: $1) }) {
        case .success(let value):
            if let value { push(L, value) } else { lua_pushnil(L) }
            return .values(1)
        case .failure(let error):
            return L.softFailure(error.message)
        }
    }

    /// `get_keys(max = 1024)` and `flush_expired(max = 0)`.
    static func scan(_ L: LuaState, keys: Bool) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 || count == 2 else { return L.fail("expecting 1 or 2 argument(s), but saw \(count)") }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        guard let dict = zone(L) else { return L.fail("bad user data for the ngx_shm_zone_t pointer") }
        var limit = keys ? 1024 : 0
        if count == 2 {
            guard lua_isnumber(L, 2) != 0 else { return L.argumentError(2, "number expected, got \(luaTypeName(L, 2))") }
            limit = Int(LuaNumber.truncated32(lua_tonumber(L, 2)))
        }
        guard keys else {
            lua_pushnumber(L, Double(dict.withStore(now: now(L)) { $0.flushExpired(max: limit, now: $1) }))
            return .values(1)
        }
        let found = dict.withStore(now: now(L)) { store, now in store.keys(max: limit, now: now) }
        lua_createtable(L, Int32(clamping: found.count), 0)
        for (position, key) in found.enumerated() {
            key.withUnsafeBytes { luaPushBytes(L, $0) }
            lua_rawseti(L, -2, Int32(clamping: position + 1))
        }
        return .values(1)
    }
}
