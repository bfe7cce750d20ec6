// ngx.encode_args / ngx.decode_args (whose C parser ngx.req.get_post_args shares).

extension NgxCodec {
    /// `max_args` used by `ngx.decode_args(str)` and `ngx.req.get_*_args()` when none is given.
    public static let defaultMaxArgs = 100

    /// Builds a query string the way `ngx.encode_args(table)` does, one pair at a time, so a Lua
    /// binding can feed it straight from `lua_next` without intermediate arrays.
    ///
    /// Lua-level mapping (what the binding must do before calling `append`):
    /// - keys must be Lua strings; any other key type raises
    ///   `attempt to use a non-string key in the "args" option table` (numbers are NOT coerced);
    /// - string value → `append(key:value:)`; number value → its `tostring` text (`3.5`, `1e+20`,
    ///   which is then escaped to `1e%2B20`);
    /// - `true` → `append(key:value: nil)` (emits the bare key); `false` → skipped entirely;
    /// - table value → every element in `lua_next` (`pairs`) order, not just the array part: strings
    ///   and numbers as values, `true` as a bare key, `false` skipped, anything else raises
    ///   `attempt to use <type> as query arg value`; an empty table emits nothing;
    /// - any other value type (function, userdata such as `ngx.null`, ...) raises
    ///   `attempt to use <type> as query arg value`.
    /// Pairs follow the table's iteration order; keys and values are escaped with
    /// `escape_uri` type 2 (space → `%20`, `=` → `%3D`, `&` → `%26`, `+` → `%2B`); empty keys and
    /// values are kept (`{[""]="v"}` → `=v`, `{k=""}` → `k=`), and pairs are joined with `&`
    /// with no leading, trailing or doubled separators.
    public struct ArgsEncoder: Sendable {
        /// The query string built so far.
        public private(set) var bytes: [UInt8] = []
        private var isEmpty = true

        public init() {}

        /// Appends `key=value` (both escaped), or just `key` when `value` is nil (Lua `true`).
        public mutating func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
            if !isEmpty { bytes.append(UInt8(ascii: "&")) }
            isEmpty = false
            NgxCodec.escapeURI(key, type: 2, appendingTo: &bytes)
            if let value {
                bytes.append(UInt8(ascii: "="))
                NgxCodec.escapeURI(value, type: 2, appendingTo: &bytes)
            }
        }

        /// Appends `key=value`, or just `key` when `value` is nil.
        public mutating func append(key: [UInt8], value: [UInt8]?) {
            key.withUnsafeBytes { k in
                if let value {
                    value.withUnsafeBytes { v in append(key: k, value: v) }
                } else {
                    append(key: k, value: nil)
                }
            }
        }
    }

    /// `ngx.encode_args(table)` for an already flattened, ordered list of pairs (nil value = the
    /// Lua value `true`). See `ArgsEncoder` for how a Lua table maps to this list.
    public static func encodeArgs(_ pairs: [(key: [UInt8], value: [UInt8]?)]) -> [UInt8] {
        var encoder = ArgsEncoder()
        for pair in pairs { encoder.append(key: pair.key, value: pair.value) }
        return encoder.bytes
    }

    /// Walks a query string the way `ngx.decode_args(str, max_args?)` and `ngx.req.get_post_args`
    /// parse it, calling `body` with each unescaped key and value (`nil` value = the
    /// Lua value `true`) in input order. The buffers passed to `body` are only valid during the call.
    ///
    /// Exact ngx_lua semantics:
    /// - pairs are split on `&` only (`;` is an ordinary byte); the first `=` of a pair separates
    ///   key and value, later ones belong to the value (`a=b=c` → `a` = `"b=c"`);
    /// - key and value are unescaped like `unescapeURI` (`+` → space, `%XX`, bad `%` kept);
    /// - a pair without `=` yields the key with value `true`; `a=` yields `""`;
    /// - pairs whose unescaped key is empty (`=v`, `&&`, `=`) are dropped, but STILL count toward
    ///   `maxArgs` (`decode_args("&&&&a=1", 2)` → `{}`);
    /// - parsing stops once `maxArgs` pairs (counting dropped ones) have been seen; `maxArgs <= 0`
    ///   means unlimited. The default is 100. (Lua quirk for the binding: `ngx.decode_args(s, nil)`
    ///   raises `bad argument #2 to '?' (number expected, got nil)`; only an absent argument
    ///   means the default.)
    /// Not for `ngx.req.get_uri_args`: with lua-resty-core that uses a different (FFI) parser in
    /// which empty-key pairs do NOT count toward max_args (`"a=1&=&b=2"` with 2 → a and b).
    /// Lua-level mapping: the binding sets `t[key] = value`; a repeated key turns into a list in
    /// order of appearance (`a=1&a&a=` → `a = {"1", true, ""}`).
    public static func forEachArg(
        in bytes: UnsafeRawBufferPointer,
        maxArgs: Int = defaultMaxArgs,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) throws -> Void
    ) rethrows {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        // One scratch copy of the input, unescaped in place piece by piece (output never outgrows input).
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { scratch in
            let buf = scratch.baseAddress!
            var count = 0
            var pos = 0
            while pos < n {
                // Find the end of this pair and its first '='.
                var end = pos
                var eq = -1
                while end < n {
                    let c = src[end]
                    if c == UInt8(ascii: "&") { break }
                    if c == UInt8(ascii: "=") && eq < 0 { eq = end }
                    end += 1
                }
                let keyEnd = eq < 0 ? end : eq
                let keyLen = unescapeURI(src + pos, count: keyEnd - pos, into: buf + pos)
                if keyLen > 0 {
                    let key = UnsafeRawBufferPointer(start: buf + pos, count: keyLen)
                    if eq < 0 {
                        try body(key, nil)
                    } else {
                        let valueLen = unescapeURI(src + eq + 1, count: end - eq - 1, into: buf + eq + 1)
                        try body(key, UnsafeRawBufferPointer(start: buf + eq + 1, count: valueLen))
                    }
                }
                if end == n { break }  // last pair had no trailing '&'
                count += 1
                if maxArgs > 0 && count == maxArgs { break }
                pos = end + 1
            }
        }
    }

    /// `ngx.decode_args(str, max_args?)` as an ordered list of pairs (`nil` value = Lua `true`).
    /// See `forEachArg(in:maxArgs:_:)` for the exact rules and the Lua table mapping.
    public static func decodeArgs(_ bytes: UnsafeRawBufferPointer, maxArgs: Int = defaultMaxArgs) -> [(key: [UInt8], value: [UInt8]?)] {
        var result: [(key: [UInt8], value: [UInt8]?)] = []
        forEachArg(in: bytes, maxArgs: maxArgs) { key, value in
            result.append((key: [UInt8](key), value: value.map { [UInt8]($0) }))
        }
        return result
    }

    /// `ngx.decode_args` over an array.
    public static func decodeArgs(_ bytes: [UInt8], maxArgs: Int = defaultMaxArgs) -> [(key: [UInt8], value: [UInt8]?)] {
        bytes.withUnsafeBytes { decodeArgs($0, maxArgs: maxArgs) }
    }
}
