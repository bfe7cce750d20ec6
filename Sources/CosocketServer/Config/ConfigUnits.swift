/// nginx time and size values (`ngx_parse_time`, `ngx_parse_size`), so that
/// `keepalive_timeout 1m30s` or `client_max_body_size 16k` mean exactly what
/// they mean in nginx, including which spellings are rejected.
public enum ConfigUnits {
    /// How a trailing number without a unit is read by `milliseconds(_:bareNumber:)`.
    public enum BareNumberUnit: Sendable {
        /// nginx's rule for every time directive: `75` means 75 s.
        case seconds
        /// For values where a plain number is already milliseconds.
        case milliseconds
    }

    /// A time in seconds, as `ngx_conf_set_sec_slot` reads it.
    ///
    /// Units `y` (365 d), `M` (30 d), `w`, `d`, `h`, `m`, `s`, each at most
    /// once and in decreasing order, optionally separated by spaces
    /// (`1h 30m`, `1m30s`); a trailing bare number is seconds; `ms` is invalid.
    public static func seconds(_ text: String) throws(ConfigUnitError) -> Int {
        guard let v = parseTime(Array(text.utf8), isSec: true, bareScale: 1) else { throw ConfigUnitError(value: text) }
        return v
    }

    /// A time in milliseconds, as `ngx_conf_set_msec_slot` reads it.
    ///
    /// Units `w`, `d`, `h`, `m`, `s`, `ms` (as nginx: `y` and `M` are invalid
    /// here); a trailing bare number is seconds unless `bareNumber` says
    /// otherwise.
    public static func milliseconds(_ text: String, bareNumber: BareNumberUnit = .seconds) throws(ConfigUnitError) -> Int {
        let scale = bareNumber == .seconds ? 1000 : 1
        guard let v = parseTime(Array(text.utf8), isSec: false, bareScale: scale) else { throw ConfigUnitError(value: text) }
        return v
    }

    /// A size in bytes, as `ngx_conf_set_size_slot` reads it: digits with an
    /// optional single suffix `k`/`K` (KiB), `m`/`M` (MiB), `g`/`G` (GiB).
    public static func size(_ text: String) throws(ConfigUnitError) -> Int {
        var digits = Array(text.utf8)
        var scale = 1
        switch digits.last {
        case UInt8(ascii: "k"), UInt8(ascii: "K"): scale = 1 << 10
        case UInt8(ascii: "m"), UInt8(ascii: "M"): scale = 1 << 20
        case UInt8(ascii: "g"), UInt8(ascii: "G"): scale = 1 << 30
        default: break
        }
        if scale != 1 { digits.removeLast() }
        guard !digits.isEmpty else { throw ConfigUnitError(value: text) }
        var value = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { throw ConfigUnitError(value: text) }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(d - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw ConfigUnitError(value: text) }
            value = a
        }
        guard value <= Int.max / scale else { throw ConfigUnitError(value: text) }
        return value * scale
    }

    /// Port of `ngx_parse_time`. `bareScale` multiplies a trailing unitless
    /// number (and one followed by a space) in millisecond mode.
    private static func parseTime(_ p: [UInt8], isSec: Bool, bareScale: Int) -> Int? {
        // Steps, in the order units must appear: y M w d h m s ms, then " ".
        enum Step: Int, Comparable {
            case start, year, month, week, day, hour, min, sec, msec, last
            static func < (a: Step, b: Step) -> Bool { a.rawValue < b.rawValue }
        }
        var step: Step = isSec ? .start : .month
        var valid = false
        var value = 0
        var total = 0
        var i = 0
        while i < p.count {
            let c = p[i]
            i += 1
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
                if o1 || o2 { return nil }
                value = a
                valid = true
                continue
            }
            var scale: Int
            switch c {
            case UInt8(ascii: "y"):
                if step > .start { return nil }
                step = .year; scale = 365 * 86400
            case UInt8(ascii: "M"):
                if step >= .month { return nil }
                step = .month; scale = 30 * 86400
            case UInt8(ascii: "w"):
                if step >= .week { return nil }
                step = .week; scale = 7 * 86400
            case UInt8(ascii: "d"):
                if step >= .day { return nil }
                step = .day; scale = 86400
            case UInt8(ascii: "h"):
                if step >= .hour { return nil }
                step = .hour; scale = 3600
            case UInt8(ascii: "m"):
                if i < p.count && p[i] == UInt8(ascii: "s") {
                    if isSec || step >= .msec { return nil }
                    i += 1
                    step = .msec; scale = 1
                } else {
                    if step >= .min { return nil }
                    step = .min; scale = 60
                }
            case UInt8(ascii: "s"):
                if step >= .sec { return nil }
                step = .sec; scale = 1
            case UInt8(ascii: " "):
                if step >= .sec { return nil }
                step = .last; scale = isSec ? 1 : bareScale
            default:
                return nil
            }
            if !isSec && step != .msec && step != .last { scale *= 1000 }
            let (scaled, o1) = value.multipliedReportingOverflow(by: scale)
            let (sum, o2) = total.addingReportingOverflow(scaled)
            if o1 || o2 { return nil }
            total = sum
            value = 0
            while i < p.count && p[i] == UInt8(ascii: " ") { i += 1 }
        }
        guard valid else { return nil }
        let (scaled, o1) = value.multipliedReportingOverflow(by: isSec ? 1 : bareScale)
        let (sum, o2) = total.addingReportingOverflow(scaled)
        return o1 || o2 ? nil : sum
    }
}

/// A time or size value nginx would reject.
///
/// `description` is `invalid value "<text>"`. nginx itself reports these as
/// `"<directive>" directive invalid value in <file>:<line>`; the validation
/// layer gets that wording with
/// `node.error(.directive(name: node.name, message: error.message))`.
public struct ConfigUnitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The rejected text.
    public var value: String
    /// nginx's handler message: `invalid value`.
    public var message: String { "invalid value" }
    public var description: String { "invalid value \"\(value)\"" }

    public init(value: String) { self.value = value }
}
