import CosocketLua

#if canImport(Glibc)
import Glibc
#endif

/// The `Date` header of a worker's responses: formatted when the second changes, so a
/// response pays for a `time()` call (vDSO) and a comparison.
struct HTTPDateCache {
    private var second = -1
    private var text = ""

    mutating func current() -> String {
        let now = time(nil)
        if now != second {
            second = now
            text = HTTPDate.format(now)
        }
        return text
    }
}
