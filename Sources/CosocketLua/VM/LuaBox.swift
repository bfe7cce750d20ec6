import CLuaJIT

/// Swift objects held by Lua values: a full userdata with a retained pointer, released by
/// `__gc`. One metatable serves every boxed type; `LuaBox.unbox` checks it, so a userdata
/// that Lua code forged or swapped in is never mistaken for one of ours.
enum LuaBox {
    private static let metatable = LuaRegistrySlot()

    static func installMetatable(_ L: LuaState) {
        lua_createtable(L, 0, 1)
        lua_pushvalue(L, -1)
        metatable.store(L)
        lua_pushcclosure(L, { L in
            guard let L, let slot = lua_touserdata(L, 1)?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self) else { return 0 }
            if let pointer = slot.pointee {
                slot.pointee = nil
                Unmanaged<AnyObject>.fromOpaque(pointer).release()
            }
            return 0
        }, 0)
        lua_setfield(L, -2, "__gc")
        luaPop(L, 1)
    }

    /// Pushes a userdata that keeps `object` alive until collected.
    static func push(_ L: LuaState, _ object: AnyObject) {
        let slot = lua_newuserdata(L, MemoryLayout<UnsafeMutableRawPointer?>.size)!
            .assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        slot.pointee = Unmanaged.passRetained(object).toOpaque()
        metatable.push(L)
        lua_setmetatable(L, -2)
    }

    /// The object in the boxed userdata at `index`, if it is one of ours and exactly of type
    /// `T` (boxed types are final classes): an exact type test is a pointer comparison, where
    /// `as? T` costs a runtime cast on every socket method call.
    static func unbox<T: AnyObject>(_ L: LuaState, _ index: Int32, as type: T.Type) -> T? {
        guard lua_type(L, index) == LUA_TUSERDATA, lua_getmetatable(L, index) != 0 else { return nil }
        metatable.push(L)
        let ours = lua_rawequal(L, -1, -2) != 0
        luaPop(L, 2)
        guard ours, let slot = lua_touserdata(L, index)?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self),
            let pointer = slot.pointee
        else { return nil }
        let object = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue()
        guard Swift.type(of: object) == T.self else { return nil }
        return unsafeDowncast(object, to: T.self)
    }
}
