/// HTTP dates as nginx writes and reads them (`ngx_http_time`, `ngx_http_cookie_time`,
/// `ngx_parse_http_time`): `ngx.http_time`, `ngx.cookie_time`, `ngx.parse_http_time` and the
/// host's `Date` header. Pure: seconds since the epoch in, bytes out.
public enum HTTPDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private enum Format { case unknown, rfc822, rfc850, asctime }
    private static let daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    /// The calendar fields of a time; nginx's `ngx_gmtime` takes times before 1970 as 1970,
    /// and the reference writes times past the last second of 9999 as that second (its dates
    /// stay within their 29 bytes).
    struct Fields: Equatable {
        var year: Int, month: Int, day: Int, weekday: Int, hour: Int, minute: Int, second: Int
    }

    static func fields(_ seconds: Int) -> Fields {
        let t = min(max(seconds, 0), 253_402_300_799)
        let days = t / 86400
        let rest = t % 86400
        // Days to a civil date, counting from 1 March of year 0 (Gregorian).
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        // 1 January 1970 was a Thursday.
        return Fields(year: year, month: month, day: day, weekday: (days + 4) % 7,
                      hour: rest / 3600, minute: rest % 3600 / 60, second: rest % 60)
    }

    /// `Thu, 18 Nov 2010 11:27:35 GMT`.
    public static func format(_ seconds: Int) -> String {
        let f = fields(seconds)
        return "\(weekdays[f.weekday]), \(two(f.day)) \(months[f.month - 1]) \(f.year) \(two(f.hour)):\(two(f.minute)):\(two(f.second)) GMT"
    }

    /// `Thu, 18-Nov-10 11:27:35 GMT`: a two-digit year up to 2037, as nginx writes it for old
    /// Netscape clients, four digits after.
    public static func cookie(_ seconds: Int) -> String {
        let f = fields(seconds)
        let year = f.year > 2037 ? String(f.year) : two(f.year % 100)
        return "\(weekdays[f.weekday]), \(two(f.day))-\(months[f.month - 1])-\(year) \(two(f.hour)):\(two(f.minute)):\(two(f.second)) GMT"
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }

    /// Reads the three formats nginx reads (RFC 1123 `Tue, 10 Nov 2002 23:50:13`, RFC 850
    /// `Tuesday, 10-Dec-02 23:50:13`, asctime `Tue Dec 10 23:50:13 2002`), with nginx's
    /// leniencies: the weekday is not checked, what follows the time is ignored, day 0 is the
    /// last day of the month before. `nil` where nginx answers `NGX_ERROR`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let end = bytes.count
        func at(_ i: Int) -> UInt8 { i < end ? bytes[i] : 0 }
        func digit(_ i: Int) -> Int? {
            let b = at(i)
            return b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil
        }
        func number(_ i: Int, _ count: Int) -> Int? {
            var value = 0
            for k in 0..<count {
                guard let d = digit(i + k) else { return nil }
                value = value * 10 + d
            }
            return value
        }
        var format = Format.unknown
        var p = 0
        while p < end {
            if bytes[p] == UInt8(ascii: ",") { break }
            if bytes[p] == UInt8(ascii: " ") { format = .asctime; break }
            p += 1
        }
        p += 1
        while p < end, bytes[p] == UInt8(ascii: " ") { p += 1 }
        guard end - p >= 18 else { return nil }
        var day = 0
        if format != .asctime {
            guard let d = number(p, 2) else { return nil }
            day = d
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
            guard let y = number(p, 4) else { return nil }
            year = y
            p += 4
        case .rfc850:
            guard let y = number(p, 2) else { return nil }
            year = y + (y < 70 ? 2000 : 1900)
            p += 2
        case .asctime:
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
        case .unknown:
            return nil
        }
        guard at(p) == UInt8(ascii: " "), let hour = number(p + 1, 2), at(p + 3) == UInt8(ascii: ":"),
            let minute = number(p + 4, 2), at(p + 6) == UInt8(ascii: ":"), let second = number(p + 7, 2)
        else { return nil }
        if format == .asctime {
            guard at(p + 9) == UInt8(ascii: " "), let y = number(p + 10, 4) else { return nil }
            year = y
        }
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        if day == 29 && month == 1 {
            if year & 3 != 0 || (year % 100 == 0 && year % 400 != 0) { return nil }
        } else if day > daysInMonth[month] {
            return nil
        }
        // Gauss' formula, the year starting on 1 March.
        var m = month - 1
        var y = year
        if m <= 0 { m += 12; y -= 1 }
        let days = 365 * y + y / 4 - y / 100 + y / 400 + 367 * m / 12 - 30 + day - 1 - 719_527 + 31 + 28
        let time = days * 86400 + hour * 3600 + minute * 60 + second
        // nginx's NGX_ERROR is -1: a date one second before the epoch reads as a failure too.
        return time == -1 ? nil : time
    }
}
