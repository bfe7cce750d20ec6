import CLuaJIT

/// Swift objects held by Lua values: a full userdata with a retained pointer, released by
/// `__gc`. One metatable serves every boxed type. Each box also carries a seal, the identity
/// of that metatable in its VM, which `LuaBox.unbox` checks: Lua code cannot write a
/// userdata's bytes, so a userdata it forged or swapped in is never mistaken for one of ours,
/// and the check costs no call into Lua (reading the metatable back cost three per socket
/// method).
enum LuaBox {
    private static let metatable = LuaRegistrySlot()

    /// A box's bytes; `object` first, which `__gc` relies on.
    private struct Payload {
        var object: UnsafeMutableRawPointer?
        var seal: UnsafeRawPointer?
    }

    /// Creates the metatable and returns its identity in this VM (see ``unbox(_:_:as:seal:)``).
    static func installMetatable(_ L: LuaState, worker: UnsafeMutableRawPointer) -> UnsafeRawPointer? {
        lua_createtable(L, 0, 1)
        lua_pushvalue(L, -1)
        metatable.store(L)
        let identity = lua_topointer(L, -1)
        lua_pushlightuserdata(L, worker)
        lua_pushcclosure(L, { L in
            guard let L, let slot = lua_touserdata(L, 1)?.assumingMemoryBound(to: UnsafeMutableRawPointer?.self) else { return 0 }
            if let pointer = slot.pointee {
                slot.pointee = nil
                let object = Unmanaged<AnyObject>.fromOpaque(pointer)
                // The worker comes from the upvalue: while it deinitializes (closing the VM), its
                // unowned references must not be read.
                let worker = LuaWorker.from(L)
                if !worker.isClosing, Swift.type(of: object.takeUnretainedValue()) == LuaSocket.self {
                    // Takes over the userdata's reference; kept for reuse when it is the last one.
                    var socket = unsafeDowncast(object.takeRetainedValue(), to: LuaSocket.self)
                    if worker.spareSockets.count < LuaWorker.spareSocketLimit,
                        isKnownUniquelyReferenced(&socket), socket.resetForReuse()
                    {
                        worker.spareSockets.append(socket)
                    }
                } else {
                    object.release()
                }
            }
            return 0
        }, 1)
        lua_setfield(L, -2, "__gc")
        // Hidden from `getmetatable`, so that plain Lua code cannot put it on a userdata of
        // another kind.
        lua_pushboolean(L, 0)
        lua_setfield(L, -2, "__metatable")
        luaPop(L, 1)
        return identity
    }

    /// Pushes a userdata that keeps `object` alive until collected; `seal` is what
    /// ``installMetatable(_:worker:)`` returned for this VM.
    static func push(_ L: LuaState, _ object: AnyObject, seal: UnsafeRawPointer?) {
        let payload = lua_newuserdata(L, MemoryLayout<Payload>.size)!.assumingMemoryBound(to: Payload.self)
        payload.initialize(to: Payload(object: Unmanaged.passRetained(object).toOpaque(), seal: seal))
        metatable.push(L)
        lua_setmetatable(L, -2)
    }

    /// The object in the boxed userdata at `index`, if it is one of ours (the size and the seal
    /// match: `seal` is this VM's, see ``push(_:_:seal:)``) and exactly of type `T` (boxed
    /// types are final classes): an exact type test is a pointer comparison, where `as? T`
    /// costs a runtime cast on every socket method call.
    static func unbox<T: AnyObject>(_ L: LuaState, _ index: Int32, as type: T.Type, seal: UnsafeRawPointer?) -> T? {
        guard seal != nil, lua_type(L, index) == LUA_TUSERDATA, lua_objlen(L, index) == MemoryLayout<Payload>.size,
            let payload = lua_touserdata(L, index)?.assumingMemoryBound(to: Payload.self),
            payload.pointee.seal == seal, let pointer = payload.pointee.object
        else { return nil }
        let object = Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue()
        guard Swift.type(of: object) == T.self else { return nil }
        return unsafeDowncast(object, to: T.self)
    }
}
