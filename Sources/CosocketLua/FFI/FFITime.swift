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

/// `strftime` of now (or `seconds`) into `buffer`, which the caller sized for the format's
/// fixed width (resty.core: 10 bytes for `today`, 19 for the others). Returns the length.
@discardableResult
private func formatTime(_ buffer: UnsafeMutablePointer<UInt8>?, _ pattern: String, utc: Bool, seconds: Int? = nil, width: Int) -> Int {
    guard let buffer else { return 0 }
    // nginx's `ngx_gmtime` reads a negative time as 0.
    var moment = time_t(max(0, seconds ?? Int(time(nil))))
    var parts = tm()
    if utc { gmtime_r(&moment, &parts) } else { localtime_r(&moment, &parts) }
    var scratch = [CChar](repeating: 0, count: 64)
    let length = min(strftime(&scratch, scratch.count, pattern, &parts), width)
    scratch.withUnsafeBufferPointer { source in
        source.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: length) { buffer.update(from: $0, count: length) }
    }
    return length
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

/// nginx's `ngx_http_time`: `Thu, 18 Nov 2010 11:27:35 GMT` (29 bytes, what resty.core allots).
@_cdecl("ngx_http_lua_ffi_http_time")
public func ngx_http_lua_ffi_http_time(_ buffer: UnsafeMutablePointer<UInt8>?, _ seconds: Int) {
    formatTime(buffer, "%a, %d %b %Y %H:%M:%S GMT", utc: true, seconds: seconds, width: 29)
}

/// nginx's `ngx_http_cookie_time`: `Thu, 18-Nov-10 11:27:35 GMT`, the year in four digits
/// past 2037 as nginx writes it; returns the length.
@_cdecl("ngx_http_lua_ffi_cookie_time")
public func ngx_http_lua_ffi_cookie_time(_ buffer: UnsafeMutablePointer<UInt8>?, _ seconds: Int) -> Int32 {
    var moment = time_t(max(0, seconds))
    var parts = tm()
    gmtime_r(&moment, &parts)
    let pattern = parts.tm_year + 1900 > 2037 ? "%a, %d-%b-%Y %H:%M:%S GMT" : "%a, %d-%b-%y %H:%M:%S GMT"
    return Int32(formatTime(buffer, pattern, utc: true, seconds: seconds, width: 32))
}

/// nginx's `ngx_parse_http_time`: RFC 1123, RFC 850 and asctime dates; `-1` (NGX_ERROR) in
/// `*time` for anything else.
@_cdecl("ngx_http_lua_ffi_parse_http_time")
public func ngx_http_lua_ffi_parse_http_time(_ text: UnsafePointer<UInt8>?, _ length: Int, _ result: UnsafeMutablePointer<Int>?) {
    result?.pointee = HTTPTime.parse(Array(ffiBytes(text, length))) ?? -1
}

/// The date forms `ngx_parse_http_time` reads.
enum HTTPTime {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since the epoch of an HTTP date, or `nil`.
    static func parse(_ bytes: [UInt8]) -> Int? {
        let text = String(decoding: bytes, as: UTF8.self)
        // Past the weekday: "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
        // "Sun Nov  6 08:49:37 1994".
        guard let space = text.firstIndex(of: " ") else { return nil }
        let weekday = text[..<space]
        let rest = text[text.index(after: space)...].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var day = 0, month = 0, year = 0, clock: [Int] = []
        if weekday.hasSuffix(",") {
            if rest.count == 5, rest[4] == "GMT" {  // RFC 1123
                guard let d = Int(rest[0]), let m = months.firstIndex(of: rest[1]), let y = Int(rest[2]), rest[2].count == 4 else { return nil }
                (day, month, year) = (d, m, y)
                clock = rest[3].split(separator: ":").compactMap { Int($0) }
            } else if rest.count == 3, rest[2] == "GMT" {  // RFC 850
                let parts = rest[0].split(separator: "-").map(String.init)
                guard parts.count == 3, let d = Int(parts[0]), let m = months.firstIndex(of: parts[1]), let y = Int(parts[2]), parts[2].count == 2 else { return nil }
                (day, month, year) = (d, m, y + (y < 70 ? 2000 : 1900))
                clock = rest[1].split(separator: ":").compactMap { Int($0) }
            } else {
                return nil
            }
        } else if rest.count == 4 {  // asctime
            guard let m = months.firstIndex(of: rest[0]), let d = Int(rest[1]), let y = Int(rest[3]), rest[3].count == 4 else { return nil }
            (day, month, year) = (d, m, y)
            clock = rest[2].split(separator: ":").compactMap { Int($0) }
        } else {
            return nil
        }
        guard clock.count == 3, (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...59).contains(clock[2]),
              (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month] else { return nil }
        // Days since the epoch (Gauss's algorithm, as nginx computes it).
        var m = month + 1, y = year
        m -= 2
        if m <= 0 { m += 12; y -= 1 }
        let days = 365 * y + y / 4 - y / 100 + y / 400 + 367 * m / 12 - 30 + day - 1 - 719527 + 31 + 28
        return days * 86400 + clock[0] * 3600 + clock[1] * 60 + clock[2]
    }
}
