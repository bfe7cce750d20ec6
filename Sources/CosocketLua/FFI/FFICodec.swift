#if canImport(Glibc)
import Glibc
#endif

// The string codecs resty/core/hash.lua, uri.lua, base64.lua, utils.lua and ngx/base64.lua
// call (ngx_http_lua_string.c, ngx_http_lua_uri.c), plus the two nginx core functions
// lua-resty-string declares (`ngx_hex_dump`, `ngx_atoi`), over ``NgxCodec``: the same code
// as the native `ngx.md5`, `ngx.escape_uri`, ... Each writes into the caller's buffer, which
// resty.core sized from the matching length function.

@inline(__always)
private func write(_ bytes: [UInt8], to destination: UnsafeMutablePointer<UInt8>?) {
    guard let destination else { return }
    bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { destination.update(from: base, count: $0.count) } }
}

@_cdecl("ngx_http_lua_ffi_md5_bin")
public func ngx_http_lua_ffi_md5_bin(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?) {
    write(NgxCodec.md5(ffiBytes(source, length)), to: destination)
}

@_cdecl("ngx_http_lua_ffi_md5")
public func ngx_http_lua_ffi_md5(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?) {
    write(NgxCodec.md5Hex(ffiBytes(source, length)), to: destination)
}

/// Returns 1: SHA-1 is there (0 makes resty.core raise `SHA-1 support missing in Nginx`).
@_cdecl("ngx_http_lua_ffi_sha1_bin")
public func ngx_http_lua_ffi_sha1_bin(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?) -> Int32 {
    write(NgxCodec.sha1(ffiBytes(source, length)), to: destination)
    return 1
}

@_cdecl("ngx_http_lua_ffi_crc32_long")
public func ngx_http_lua_ffi_crc32_long(_ source: UnsafePointer<UInt8>?, _ length: Int) -> UInt32 {
    NgxCodec.crc32Long(ffiBytes(source, length))
}

@_cdecl("ngx_http_lua_ffi_crc32_short")
public func ngx_http_lua_ffi_crc32_short(_ source: UnsafePointer<UInt8>?, _ length: Int) -> UInt32 {
    NgxCodec.crc32Short(ffiBytes(source, length))
}

/// A `type` outside nginx's escape sets (resty.core checks it first) escapes nothing.
@_cdecl("ngx_http_lua_ffi_uri_escaped_length")
public func ngx_http_lua_ffi_uri_escaped_length(_ source: UnsafePointer<UInt8>?, _ length: Int, _ type: Int32) -> Int {
    guard NgxCodec.escapeURITypeRange.contains(Int(type)) else { return length }
    return NgxCodec.escapedURILength(ffiBytes(source, length), type: Int(type))
}

@_cdecl("ngx_http_lua_ffi_escape_uri")
public func ngx_http_lua_ffi_escape_uri(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?, _ type: Int32) {
    guard NgxCodec.escapeURITypeRange.contains(Int(type)) else {
        if let source, let destination, length > 0 { destination.update(from: source, count: length) }
        return
    }
    write(NgxCodec.escapeURI(ffiBytes(source, length), type: Int(type)), to: destination)
}

/// Returns the unescaped length (never more than `length`, what resty.core allots).
@_cdecl("ngx_http_lua_ffi_unescape_uri")
public func ngx_http_lua_ffi_unescape_uri(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?) -> Int {
    guard let source, let destination, length > 0 else { return 0 }
    return NgxCodec.unescapeURI(source, count: length, into: destination)
}

@_cdecl("ngx_http_lua_ffi_encode_base64")
public func ngx_http_lua_ffi_encode_base64(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?, _ noPadding: Int32) -> Int {
    let encoded = NgxCodec.encodeBase64(ffiBytes(source, length), noPadding: noPadding != 0)
    write(encoded, to: destination)
    return encoded.count
}

/// 1 when `source` is base64 (its bytes in `destination`, their count in `*decodedLength`), 0
/// when not.
@_cdecl("ngx_http_lua_ffi_decode_base64")
public func ngx_http_lua_ffi_decode_base64(_ source: UnsafePointer<UInt8>?, _ length: Int, _ destination: UnsafeMutablePointer<UInt8>?, _ decodedLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let decoded = NgxCodec.decodeBase64(ffiBytes(source, length)) else { return 0 }
    write(decoded, to: destination)
    decodedLength?.pointee = decoded.count
    return 1
}

/// nginx's `void ngx_encode_base64url(ngx_str_t *dst, ngx_str_t *src)` (ngx/base64.lua).
@_cdecl("ngx_encode_base64url")
public func ngx_encode_base64url(_ destinationPointer: UnsafeMutableRawPointer?, _ sourcePointer: UnsafeRawPointer?) {
    guard let destination = destinationPointer?.assumingMemoryBound(to: NgxStr.self),
          let source = sourcePointer?.assumingMemoryBound(to: NgxStr.self) else { return }
    let encoded = NgxCodec.encodeBase64URL(ffiBytes(source.pointee.data, source.pointee.len))
    write(encoded, to: destination.pointee.data)
    destination.pointee.len = encoded.count
}

/// nginx's `ngx_int_t ngx_decode_base64url(ngx_str_t *dst, ngx_str_t *src)`: NGX_OK or NGX_ERROR.
@_cdecl("ngx_decode_base64url")
public func ngx_decode_base64url(_ destinationPointer: UnsafeMutableRawPointer?, _ sourcePointer: UnsafeRawPointer?) -> Int {
    guard let destination = destinationPointer?.assumingMemoryBound(to: NgxStr.self),
          let source = sourcePointer?.assumingMemoryBound(to: NgxStr.self),
          let decoded = NgxCodec.decodeBase64URL(ffiBytes(source.pointee.data, source.pointee.len)) else { return -1 }
    write(decoded, to: destination.pointee.data)
    destination.pointee.len = decoded.count
    return 0
}

/// resty/core/utils.lua's `str_replace_char`: every `find` byte of the buffer becomes `replace`.
@_cdecl("ngx_http_lua_ffi_str_replace_char")
public func ngx_http_lua_ffi_str_replace_char(_ buffer: UnsafeMutablePointer<UInt8>?, _ length: Int, _ find: UInt8, _ replace: UInt8) {
    guard let buffer, length > 0 else { return }
    for index in 0..<length where buffer[index] == find { buffer[index] = replace }
}

/// nginx's `u_char *ngx_hex_dump(u_char *dst, u_char *src, size_t len)`: lower-case hex of
/// `len` bytes into `dst` (2 * len bytes, no NUL); returns the end of what it wrote.
/// lua-resty-string's `resty.string.to_hex` calls it.
@_cdecl("ngx_hex_dump")
public func ngx_hex_dump(_ destination: UnsafeMutablePointer<UInt8>?, _ source: UnsafePointer<UInt8>?, _ length: Int) -> UnsafeMutablePointer<UInt8>? {
    guard let destination else { return nil }
    guard let source, length > 0 else { return destination }
    for index in 0..<length {
        destination[2 * index] = NgxCodec.lowerHexDigit(source[index] >> 4)
        destination[2 * index + 1] = NgxCodec.lowerHexDigit(source[index] & 0x0f)
    }
    return destination + 2 * length
}

/// nginx's `ngx_int_t ngx_atoi(u_char *line, size_t n)`: the decimal number of `n` digits,
/// NGX_ERROR (-1) for no digits, any other byte, or a value past `NGX_MAX_INT_T_VALUE`
/// (nginx 1.22's overflow check).
@_cdecl("ngx_atoi")
public func ngx_atoi(_ line: UnsafePointer<UInt8>?, _ length: Int) -> Int {
    guard let line, length > 0 else { return -1 }
    let cutoff = Int.max / 10, cutlim = Int.max % 10
    var value = 0
    for index in 0..<length {
        let byte = line[index]
        guard byte >= 0x30, byte <= 0x39 else { return -1 }
        let digit = Int(byte - 0x30)
        if value > cutoff || (value == cutoff && digit > cutlim) { return -1 }
        value = value * 10 + digit
    }
    return value
}
