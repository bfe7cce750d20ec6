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
    var moment = time_t(clampedTime(seconds ?? Int(time(nil))))
    var parts = tm()
    if utc { gmtime_r(&moment, &parts) } else { localtime_r(&moment, &parts) }
    var scratch = [CChar](repeating: 0, count: 64)
    let length = min(strftime(&scratch, scratch.count, pattern, &parts), width)
    scratch.withUnsafeBufferPointer { source in
        source.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: length) { buffer.update(from: $0, count: length) }
    }
    return length
}

/// nginx's `ngx_gmtime` reads a negative time as 0, and the reference writes times past the
/// last second of 9999 as that second (the dates stay within their 29 bytes).
private func clampedTime(_ seconds: Int) -> Int { min(max(0, seconds), 253_402_300_799) }

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
    var moment = time_t(clampedTime(seconds))
    var parts = tm()
    gmtime_r(&moment, &parts)
    let pattern = parts.tm_year + 1900 > 2037 ? "%a, %d-%b-%Y %H:%M:%S GMT" : "%a, %d-%b-%y %H:%M:%S GMT"
    return Int32(formatTime(buffer, pattern, utc: true, seconds: seconds, width: 29))
}

/// nginx's `ngx_parse_http_time`: RFC 1123, RFC 850 and asctime dates; `-1` (NGX_ERROR) in
/// `*time` for anything else.
@_cdecl("ngx_http_lua_ffi_parse_http_time")
public func ngx_http_lua_ffi_parse_http_time(_ text: UnsafePointer<UInt8>?, _ length: Int, _ result: UnsafeMutablePointer<Int>?) {
    result?.pointee = HTTPTime.parse(Array(ffiBytes(text, length))) ?? -1
}

/// The date forms `ngx_parse_http_time` reads, scanned as nginx scans them: RFC 822/1123
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`); months by the letters nginx looks at, whatever follows the
/// time ignored, years 0 to 9999.
enum HTTPTime {
    private enum Format { case rfc822, rfc850, isoc }

    /// Seconds since the epoch of an HTTP date, or `nil` (nginx's NGX_ERROR).
    static func parse(_ bytes: [UInt8]) -> Int? {
        let end = bytes.count
        var p = 0
        func at(_ index: Int) -> UInt8 { index < end ? bytes[index] : 0 }
        func digit(_ index: Int) -> Int? {
            let byte = at(index)
            return byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil
        }
        func twoDigits(_ index: Int) -> Int? {
            guard let high = digit(index), let low = digit(index + 1) else { return nil }
            return high * 10 + low
        }
        var format = Format.rfc822
        while p < end {
            if at(p) == UInt8(ascii: ",") { break }
            if at(p) == UInt8(ascii: " ") { format = .isoc; break }
            p += 1
        }
        p += 1
        while p < end, at(p) == UInt8(ascii: " ") { p += 1 }
        guard end - p >= 18 else { return nil }
        var day = 0
        if format != .isoc {
            guard let value = twoDigits(p) else { return nil }
            day = value
            p += 2
            if at(p) == UInt8(ascii: " ") {
                guard end - p >= 18 else { return nil }
                format = .rfc822
            } else if at(p) == UInt8(ascii: "-") {
                format = .rfc850
            } else {
                return nil
            }
            p += 1
        }
        let month: Int
        switch at(p) {
        case UInt8(ascii: "J"): month = at(p + 1) == UInt8(ascii: "a") ? 0 : at(p + 2) == UInt8(ascii: "n") ? 5 : 6
        case UInt8(ascii: "F"): month = 1
        case UInt8(ascii: "M"): month = at(p + 2) == UInt8(ascii: "r") ? 2 : 4
        case UInt8(ascii: "A"): month = at(p + 1) == UInt8(ascii: "p") ? 3 : 7
        case UInt8(ascii: "S"): month = 8
        case UInt8(ascii: "O"): month = 9
        case UInt8(ascii: "N"): month = 10
        case UInt8(ascii: "D"): month = 11
        default: return nil
        }
        p += 3
        if (format == .rfc822 && at(p) != UInt8(ascii: " ")) || (format == .rfc850 && at(p) != UInt8(ascii: "-")) { return nil }
        p += 1
        var year = 0
        switch format {
        case .rfc822:
            guard let high = twoDigits(p), let low = twoDigits(p + 2) else { return nil }
            year = high * 100 + low
            p += 4
        case .rfc850:
            guard let value = twoDigits(p) else { return nil }
            year = value + (value < 70 ? 2000 : 1900)
            p += 2
        case .isoc:
            if at(p) == UInt8(ascii: " ") { p += 1 }
            guard let first = digit(p) else { return nil }
            day = first
            p += 1
            if at(p) != UInt8(ascii: " ") {
                guard let second = digit(p) else { return nil }
                day = day * 10 + second
                p += 1
            }
            guard end - p >= 14 else { return nil }
        }
        guard at(p) == UInt8(ascii: " "), let hour = twoDigits(p + 1), at(p + 3) == UInt8(ascii: ":"),
              let minute = twoDigits(p + 4), at(p + 6) == UInt8(ascii: ":"), let second = twoDigits(p + 7) else { return nil }
        p += 9
        if format == .isoc {
            guard at(p) == UInt8(ascii: " "), let high = twoDigits(p + 1), let low = twoDigits(p + 3) else { return nil }
            year = high * 100 + low
        }
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        let lengths = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if day == 29 && month == 1 {
            if (year & 3) != 0 || (year % 100 == 0 && year % 400 != 0) { return nil }
        } else if day > lengths[month] {
            return nil
        }
        // Gauss's formula for the days since 1 March, 1 BC, as nginx computes it.
        var m = month + 1, y = year
        m -= 2
        if m <= 0 { m += 12; y -= 1 }
        let days = 365 * y + y / 4 - y / 100 + y / 400 + 367 * m / 12 - 30 + day - 1 - 719_527 + 31 + 28
        return days * 86400 + hour * 3600 + minute * 60 + second
    }
}
