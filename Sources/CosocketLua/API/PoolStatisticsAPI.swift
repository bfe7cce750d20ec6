import CLuaJIT
import CosocketCore

extension LuaWorker {
    /// `require "cosocket.pool"`: the keepalive pools' figures for this worker. Our own module,
    /// not under `ngx.`, which belongs to the reference's API.
    ///
    ///     local pool = require "cosocket.pool"
    ///     local stats = pool.stats("127.0.0.1:6379")  -- idle, in_use, waiting, created, reused, ...
    ///     for key, s in pairs(pool.all()) do ... end
    func installPoolModule() {
        let L = state
        lua_getfield(L, luaGlobalsIndex, "package")
        lua_getfield(L, -1, "loaded")
        lua_createtable(L, 0, 2)
        luaSetField(L, -1, "stats", { L in
            let L = L!
            guard let key = luaString(L, 1), let stats = LuaWorker.from(L).engine.pools.statistics(for: key) else {
                lua_pushnil(L)
                return 1
            }
            pushStatistics(L, stats)
            return 1
        }, upvalue: opaqueSelf)
        luaSetField(L, -1, "all", { L in
            let L = L!
            let all = LuaWorker.from(L).engine.pools.allStatistics
            lua_createtable(L, 0, Int32(all.count))
            for (key, stats) in all {
                pushStatistics(L, stats)
                lua_setfield(L, -2, key)
            }
            return 1
        }, upvalue: opaqueSelf)
        lua_setfield(L, -2, "cosocket.pool")
        luaPop(L, 2)
    }
}

private func pushStatistics(_ L: LuaState, _ stats: PoolStatistics) {
    lua_createtable(L, 0, 12)
    let fields: [(String, Int?)] = [
        ("size", stats.size), ("backlog", stats.backlog), ("idle", stats.idle), ("in_use", stats.inUse),
        ("connecting", stats.connecting), ("waiting", stats.waiting), ("created", stats.totalCreated),
        ("reused", stats.totalReused), ("closed_idle_timeout", stats.closedByIdleTimeout),
        ("closed_by_peer", stats.closedByPeer), ("evicted", stats.evicted), ("connect_failures", stats.connectFailures),
    ]
    for (name, value) in fields {
        guard let value else { continue }
        lua_pushinteger(L, lua_Integer(value))
        lua_setfield(L, -2, name)
    }
}
