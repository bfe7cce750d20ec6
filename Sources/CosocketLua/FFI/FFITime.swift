#if canImport(Glibc)
import Glibc
#endif

// resty/core/time.lua: `ngx.now`, `time`, `today`, `localtime`, `utctime`, `update_time`,
// `http_time`, `cookie_time`, `parse_http_time` and `ngx.monotonic_msec`'s C functions
// (ngx_http_lua_time.c), over the same clock as our native functions (``Clock``).

@_cdecl("ngx_http_lua_ffi_now")
public func ngx_http_lua_ffi_now() -> Double { Clock.now() }

@_cdecl("ngx_http_lua_ffi_time")
public func ngx_http_lua_ffi_time() -> Int { Int(time(nil)) }

@_cdecl("ngx_http_lua_ffi_monotonic_msec")
public func ngx_http_lua_ffi_monotonic_msec() -> Int {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int(spec.tv_sec) * 1000 + Int(spec.tv_nsec) / 1_000_000
}

/// Now, as `ngx.today`/`localtime`/`utctime` write it (``Clock``), into `buffer`, which the
/// caller sized for the format's fixed width (resty.core: 10 bytes for `today`, 19 for the
/// others). Returns the length.
@discardableResult
private func formatTime(_ buffer: UnsafeMutablePointer<UInt8>?, _ pattern: String, utc: Bool, width: Int) -> Int {
    write(Clock.format(pattern, utc: utc), to: buffer, width: width)
}

@_cdecl("ngx_http_lua_ffi_today")
public func ngx_http_lua_ffi_today(_ buffer: UnsafeMutablePointer<UInt8>?) {
    formatTime(buffer, "%Y-%m-%d", utc: false, width: 10)
}

@_cdecl("ngx_http_lua_ffi_localtime")
public func ngx_http_lua_ffi_localtime(_ buffer: UnsafeMutablePointer<UInt8>?) {
    formatTime(buffer, "%Y-%m-%d %H:%M:%S", utc: false, width: 19)
}

@_cdecl("ngx_http_lua_ffi_utctime")
public func ngx_http_lua_ffi_utctime(_ buffer: UnsafeMutablePointer<UInt8>?) {
    formatTime(buffer, "%Y-%m-%d %H:%M:%S", utc: true, width: 19)
}

@_cdecl("ngx_http_lua_ffi_update_time")
public func ngx_http_lua_ffi_update_time() { SharedDict.refreshCachedTime() }

/// nginx's `ngx_http_time` (``HTTPDate``): `Thu, 18 Nov 2010 11:27:35 GMT`, the 29 bytes
/// resty.core allots.
@_cdecl("ngx_http_lua_ffi_http_time")
public func ngx_http_lua_ffi_http_time(_ buffer: UnsafeMutablePointer<UInt8>?, _ seconds: Int) {
    write(HTTPDate.format(seconds), to: buffer, width: 29)
}

/// nginx's `ngx_http_cookie_time` (``HTTPDate``); returns the length.
@_cdecl("ngx_http_lua_ffi_cookie_time")
public func ngx_http_lua_ffi_cookie_time(_ buffer: UnsafeMutablePointer<UInt8>?, _ seconds: Int) -> Int32 {
    Int32(write(HTTPDate.cookie(seconds), to: buffer, width: 29))
}

/// nginx's `ngx_parse_http_time` (``HTTPDate/parse(_:)``): `-1` (NGX_ERROR) in `*time` for
/// what it cannot read.
@_cdecl("ngx_http_lua_ffi_parse_http_time")
public func ngx_http_lua_ffi_parse_http_time(_ text: UnsafePointer<UInt8>?, _ length: Int, _ result: UnsafeMutablePointer<Int>?) {
    result?.pointee = HTTPDate.parse(ffiBytes(text, length)) ?? -1
}

/// Copies at most `width` bytes of `text` into `buffer`; returns how many.
@discardableResult
private func write(_ text: String, to buffer: UnsafeMutablePointer<UInt8>?, width: Int) -> Int {
    guard let buffer else { return 0 }
    let bytes = Array(text.utf8.prefix(width))
    bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer.update(from: base, count: bytes.count) } }
    return bytes.count
}
