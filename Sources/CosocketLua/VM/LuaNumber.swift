import CLuaJIT

/// The one place a Lua number becomes a Swift integer.
///
/// Swift's `Int(_: Double)` traps on NaN, ±inf and values out of range, and every worker is a
/// thread of one process, so one such value from Lua code or from a peer (lua-resty-redis
/// passes a length read off the wire to `receive(tonumber(len))`) would end the whole server.
/// Nothing else in the Lua runtime converts a `Double` to an integer type: each API picks the
/// conversion below that matches what the reference does with the same argument, then checks
/// the result in the reference's words.
public enum LuaNumber {
    /// What the reference's C code gets from `lua_tointeger` or an `(ngx_int_t)` cast on
    /// x86-64 (`cvttsd2si`): the value truncated toward zero, and `Int.min` for NaN and for
    /// values outside `Int64` (the instruction's "integer indefinite"). The reference's range
    /// checks then refuse that value (`bad pattern argument`, `bad timeout value`, ...), so
    /// using it reproduces the reference's verdicts, and its errors, without undefined
    /// behaviour.
    @inline(__always)
    public static func truncated(_ value: Double) -> Int {
        // 2^63 is exact as a Double; every Double below it in magnitude fits Int64.
        // NaN fails both comparisons.
        guard value >= -9_223_372_036_854_775_808.0 && value < 9_223_372_036_854_775_808.0 else { return Int.min }
        return Int(value.rounded(.towardZero))
    }

    /// What an `(int)` cast or `luaL_checkint` gives on x86-64: truncation toward zero, and
    /// `Int32.min` for NaN and values outside `Int32`.
    @inline(__always)
    public static func truncated32(_ value: Double) -> Int32 {
        guard value > -2_147_483_649.0 && value < 2_147_483_648.0 else { return Int32.min }
        return Int32(value.rounded(.towardZero))
    }

    /// The value truncated toward zero and saturated at `Int`'s bounds; NaN is 0. For counts
    /// and sizes where "as large as possible" is the right reading of `math.huge`.
    @inline(__always)
    public static func clamped(_ value: Double) -> Int {
        if value.isNaN { return 0 }
        if value >= 9_223_372_036_854_775_807.0 { return Int.max }
        if value <= -9_223_372_036_854_775_808.0 { return Int.min }
        return Int(value.rounded(.towardZero))
    }

    /// The integer `value` is exactly, or `nil` for a fraction, NaN, ±inf or a value beyond
    /// `Int` (for APIs that refuse non-integral arguments).
    @inline(__always)
    public static func exact(_ value: Double) -> Int? {
        guard value.rounded(.towardZero) == value, value >= -9_223_372_036_854_775_808.0, value < 9_223_372_036_854_775_808.0 else {
            return nil
        }
        return Int(value)
    }
}

/// `lua_tointeger(L, index)` as the reference's C code sees it (see ``LuaNumber/truncated(_:)``):
/// numbers and numeric strings truncated, anything else 0.
@inline(__always)
func luaToInteger(_ L: LuaState, _ index: Int32) -> Int {
    LuaNumber.truncated(lua_tonumber(L, index))
}
