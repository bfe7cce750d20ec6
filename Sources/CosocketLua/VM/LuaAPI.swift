import CLuaJIT
import CosocketCore
import NIOCore

/// A Lua state or thread, as the C API names it.
public typealias LuaState = OpaquePointer

// The C API's macros, which Swift does not import.
let luaRegistryIndex: Int32 = -10000
let luaGlobalsIndex: Int32 = -10002

@inline(__always) func luaUpvalueIndex(_ index: Int32) -> Int32 { luaGlobalsIndex - index }
@inline(__always) func luaPop(_ L: LuaState, _ count: Int32) { lua_settop(L, -count - 1) }
@inline(__always) func luaNewTable(_ L: LuaState) { lua_createtable(L, 0, 0) }
@inline(__always) func luaIsNoneOrNil(_ L: LuaState, _ index: Int32) -> Bool { lua_type(L, index) <= LUA_TNIL }

@inline(__always) func luaPushString(_ L: LuaState, _ string: String) {
    var string = string
    string.withUTF8 { lua_pushlstring(L, UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: CChar.self), $0.count) }
}

@inline(__always) func luaPushBytes(_ L: LuaState, _ bytes: UnsafeRawBufferPointer) {
    lua_pushlstring(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
}

/// The bytes of the string at `index` (numbers are converted in place, as `lua_tolstring` does).
@inline(__always) func luaBytes(_ L: LuaState, _ index: Int32) -> UnsafeRawBufferPointer? {
    var length = 0
    guard let pointer = lua_tolstring(L, index, &length) else { return nil }
    return UnsafeRawBufferPointer(start: pointer, count: length)
}

/// Sets `package.path` and `package.cpath` (already resolved: no `;;` left).
func luaSetPackagePaths(_ L: LuaState, path: String, cpath: String) {
    lua_getfield(L, luaGlobalsIndex, "package")
    luaPushString(L, path)
    lua_setfield(L, -2, "path")
    luaPushString(L, cpath)
    lua_setfield(L, -2, "cpath")
    luaPop(L, 1)
}

/// Makes the table on top of the stack the global `name` and `package.loaded[name]`, as
/// lua-nginx-module publishes `ngx`; the table stays on the stack.
func luaPublishModule(_ L: LuaState, _ name: String) {
    lua_pushvalue(L, -1)
    lua_setfield(L, luaGlobalsIndex, name)
    lua_getfield(L, luaGlobalsIndex, "package")
    lua_getfield(L, -1, "loaded")
    lua_pushvalue(L, -3)
    lua_setfield(L, -2, name)
    luaPop(L, 2)
}

func luaString(_ L: LuaState, _ index: Int32) -> String? {
    luaBytes(L, index).map { String(decoding: $0, as: UTF8.self) }
}

func luaTypeName(_ L: LuaState, _ index: Int32) -> String {
    String(cString: lua_typename(L, lua_type(L, index)))
}

func luaSetField(_ L: LuaState, _ tableIndex: Int32, _ name: String, _ function: lua_CFunction, upvalue: UnsafeMutableRawPointer) {
    lua_pushlightuserdata(L, upvalue)
    lua_pushcclosure(L, function, 1)
    lua_setfield(L, tableIndex < 0 ? tableIndex - 1 : tableIndex, name)
}

// MARK: - Returning from C functions

/// What a Swift implementation of a Lua C function asks the trampoline to do.
///
/// Raising a Lua error unwinds the C stack with a long jump, which would skip Swift cleanups
/// (leaking or corrupting reference counts). So bodies never raise: they return one of these,
/// and ``luaFinish(_:_:)`` raises or yields in a frame that holds no Swift references.
enum LuaReturn {
    /// Return this many values from the top of the stack.
    case values(Int32)
    /// Yield the coroutine; the scheduler resumes it with the operation's results.
    case yield
    /// Raise the error message on top of the stack, prefixed with the caller's position
    /// like `luaL_error` does.
    case error
    /// Raise the value on top of the stack as is.
    case rawError
    /// Raise `bad argument #n to 'name' (message)`, the message being on top of the stack.
    case argumentError(Int32)
}

/// A unique address the cosocket yields carry, so the `coroutine.resume` wrapper can tell a
/// scheduler yield (an I/O wait deep inside a user coroutine) from a user's `coroutine.yield`.
nonisolated(unsafe) let luaSchedulerYieldSentinel = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

@inline(__always) func luaFinish(_ L: LuaState, _ result: LuaReturn) -> Int32 {
    switch result {
    case .values(let count):
        return count
    case .yield:
        guard lua_isyieldable(L) != 0 else {
            let worker = LuaWorker.from(L)
            if let coroutine = worker.current, coroutine.context.runsToEnd {
                // `ngx.exit` ends the run; any other wait is refused with the reference's words.
                if case .exit = coroutine.wait {
                    coroutine.wait = nil
                    lua_pushlightuserdata(L, luaRunExitSentinel)
                    return lua_error(L)
                }
                worker.abandonWait()
                luaPushString(L, "API disabled in the context of \(coroutine.context.disabledContextName)")
                return luaFinish(L, .error)
            }
            // LuaJIT's own words for it, raised after the operation's wait is dropped.
            worker.abandonWait()
            lua_pushstring(L, "attempt to yield across C-call boundary")
            return lua_error(L)
        }
        lua_pushlightuserdata(L, luaSchedulerYieldSentinel)
        return lua_yield(L, 1)
    case .error:
        luaL_where(L, 1)
        lua_insert(L, -2)
        lua_concat(L, 2)
        return lua_error(L)
    case .rawError:
        return lua_error(L)
    case .argumentError(let index):
        return luaL_argerror(L, index, lua_tolstring(L, -1, nil))
    }
}

/// `tostring(value)` as Lua computes it (a `__tostring` metamethod included), called
/// protected: `nil` when it raised, with the error on top of the stack for the caller to
/// return as `.rawError` — a raise inside the call would long-jump over Swift frames.
func luaCallToString(_ L: LuaState, _ index: Int32) -> String? {
    let absolute = index < 0 ? lua_gettop(L) + index + 1 : index
    lua_getfield(L, luaGlobalsIndex, "tostring")
    lua_pushvalue(L, absolute)
    guard lua_pcall(L, 1, 1, 0) == 0 else { return nil }
    defer { luaPop(L, 1) }
    return luaString(L, -1) ?? ""
}

extension LuaState {
    /// Pushes `message` and returns `.error` (raised by the trampoline with position info).
    func fail(_ message: String) -> LuaReturn {
        luaPushString(self, message)
        return .error
    }

    /// Pushes `message` and returns a `bad argument #index` error.
    func argumentError(_ index: Int32, _ message: String) -> LuaReturn {
        luaPushString(self, message)
        return .argumentError(index)
    }

    /// Pushes `nil, message` and returns two values: the reference's soft failure.
    func softFailure(_ message: String) -> LuaReturn {
        lua_pushnil(self)
        luaPushString(self, message)
        return .values(2)
    }

    /// `nil, message` for a message that need not be UTF-8 (one quoting Lua's own bytes).
    func softFailure(bytes message: [UInt8]) -> LuaReturn {
        lua_pushnil(self)
        message.withUnsafeBytes { luaPushBytes(self, $0) }
        return .values(2)
    }
}

/// A registry entry keyed by a light userdata: found without the string conversion and
/// hashing a named entry costs, which matters for metatables looked up on every call.
struct LuaRegistrySlot: @unchecked Sendable {
    private let key = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// Stores the value on top of the stack (and pops it).
    func store(_ L: LuaState) {
        lua_pushlightuserdata(L, key)
        lua_insert(L, -2)
        lua_rawset(L, luaRegistryIndex)
    }

    @inline(__always)
    func push(_ L: LuaState) {
        lua_pushlightuserdata(L, key)
        lua_rawget(L, luaRegistryIndex)
    }
}

/// Writes the number at `index` as the reference writes numbers into output and sends: an
/// integral value as its digits (`-0` as `0`), straight into `buffer` — `lua_tolstring` would
/// intern a new Lua string for each (lua-resty-redis sends two per argument) — and NaN as C's
/// `%.14g` prints it (`-nan` for the negative NaN `0/0` gives, where `tostring` says `nan`).
/// Returns `false` for other numbers, which keep Lua's `%.14g` formatting.
func luaAppendIntegralNumber(_ L: LuaState, _ index: Int32, to buffer: inout ByteBuffer) -> Bool {
    let number = lua_tonumber(L, index)
    if number.isNaN {
        buffer.writeString(number.sign == .minus ? "-nan" : "nan")
        return true
    }
    guard abs(number) < 1e14, let value = LuaNumber.exact(number) else { return false }
    if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
    DecimalDigits.withDigits(of: UInt64(value.magnitude)) { buffer.writeBytes($0) }
    return true
}
