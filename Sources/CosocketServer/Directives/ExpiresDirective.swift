#if canImport(Glibc)
import Glibc
#endif
import CosocketLua

/// nginx's `expires [modified] time | epoch | max | off` (headers module; http, server,
/// location, `location if`): `Expires` and `Cache-Control` on responses with a status of 200,
/// 201, 204, 206, 301, 302, 303, 304, 307 or 308. A time may be negative (`no-cache`) or a
/// time of day (`@15h30m`, the next one); `modified` counts from the `Last-Modified` time.
/// A value with variables is read per request.
struct Expires: Sendable {
    enum Rule: Sendable, Equatable {
        case epoch, max
        /// Seconds from now.
        case access(Int)
        /// Seconds from the response's `Last-Modified` (from now without one).
        case modified(Int)
        /// Seconds after midnight, the next such time.
        case daily(Int)
    }

    /// `nil` for `off`.
    var rule: Rule?
    /// The arguments when they have variables.
    var template: [String]?

    static func parse(_ node: ConfigNode) throws(ConfigError) -> Expires {
        guard (1...2).contains(node.arguments.count) else { throw node.error(.invalidArgumentCount(node.name)) }
        if node.arguments.contains(where: { $0.contains("$") }) { return Expires(rule: nil, template: node.arguments) }
        guard let rule = Self.rule(node.arguments) else { throw node.error(.directive(name: node.name, message: "invalid value")) }
        return Expires(rule: rule, template: nil)
    }

    /// `.some(nil)` for `off`; `nil` when the arguments mean nothing to nginx.
    static func rule(_ arguments: [String]) -> Rule?? {
        var modified = false
        var value = arguments[0]
        if arguments.count == 2 {
            guard arguments[0] == "modified" else { return nil }
            modified = true
            value = arguments[1]
        } else {
            switch value {
            case "epoch": return .some(.epoch)
            case "max": return .some(.max)
            case "off": return .some(nil)
            default: break
            }
        }
        if value.hasPrefix("@") {
            guard !modified, let seconds = try? ConfigUnits.seconds(String(value.dropFirst())), seconds < 24 * 60 * 60 else { return nil }
            return .some(.daily(seconds))
        }
        var sign = 1
        if value.hasPrefix("+") {
            value.removeFirst()
        } else if value.hasPrefix("-") {
            sign = -1
            value.removeFirst()
        }
        guard let seconds = try? ConfigUnits.seconds(value) else { return nil }
        return .some(modified ? .modified(sign * seconds) : .access(sign * seconds))
    }

    private static let statuses: Set<Int> = [200, 201, 204, 206, 301, 302, 303, 304, 307, 308]

    /// The two headers' values for a response of `status` at `now`, or `nil` for none.
    static func headers(_ rule: Rule, status: Int, now: Int, lastModified: Int?) -> (expires: String, cacheControl: String)? {
        guard statuses.contains(status) else { return nil }
        let expiresTime: Int
        let maxAge: Int
        var negative = false
        switch rule {
        case .epoch: return ("Thu, 01 Jan 1970 00:00:01 GMT", "no-cache")
        case .max: return ("Thu, 31 Dec 2037 23:55:55 GMT", "max-age=315360000")
        case .access(let seconds):
            expiresTime = now + seconds
            maxAge = seconds
            negative = seconds < 0
        case .modified(let seconds):
            expiresTime = (lastModified ?? now) + seconds
            maxAge = lastModified == nil ? seconds : expiresTime - now
            negative = seconds < 0
        case .daily(let seconds):
            // The next time the local clock shows `seconds` after midnight, as `ngx_next_time`.
            var clock = time_t(now)
            var local = tm()
            localtime_r(&clock, &local)
            local.tm_hour = Int32(seconds / 3600)
            local.tm_min = Int32(seconds % 3600 / 60)
            local.tm_sec = Int32(seconds % 60)
            var next = Int(mktime(&local))
            if next <= now {
                local.tm_mday += 1
                next = Int(mktime(&local))
            }
            expiresTime = next
            maxAge = next - now
        }
        let expires = HTTPDate.format(expiresTime)
        return (expires, negative || maxAge < 0 ? "no-cache" : "max-age=\(maxAge)")
    }
}
