/// The decimal digits of an integer, formatted on the stack: response heads and Lua output
/// write numbers without building a `String`.
public enum DecimalDigits {
    /// Calls `body` with the ASCII digits of `value`.
    @inlinable
    public static func withDigits<Result>(of value: UInt64, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for any UInt64
        var remaining = value
        var start = 24
        return withUnsafeMutableBytes(of: &storage) { raw in
            repeat {
                start -= 1
                raw[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            return body(UnsafeRawBufferPointer(rebasing: raw[start...]))
        }
    }
}
