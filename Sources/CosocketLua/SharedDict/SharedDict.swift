import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One `lua_shared_dict` zone, shared by every worker (the workers are threads of this
/// process): its store behind a lock that each operation holds for its own duration only,
/// so nothing ever waits on it across a yield.
public final class SharedDict: Sendable {
    public let name: String
    public let size: Int
    private let store: Mutex<SharedDictStore>

    /// `nil` when the size cannot hold nginx's own zone header (below 12 KiB).
    public init?(name: String, size: Int) {
        guard let store = SharedDictStore(size: size, name: name) else { return nil }
        self.name = name
        self.size = size
        self.store = Mutex(store)
    }

    /// Runs one operation under the lock, at `now` (milliseconds since the epoch, by default
    /// the clock's).
    @inline(__always)
    public func withStore<Result>(now: UInt64 = SharedDict.nowMilliseconds(), _ body: (inout SharedDictStore, UInt64) -> Result) -> Result {
        store.withLock { body(&$0, now) }
    }

    private static let cachedTimeKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// nginx's cached time on this thread (a worker's loop): fixed while Lua code runs, as
    /// `ngx_timeofday` is between event-loop turns. The scheduler refreshes it when it resumes
    /// Lua code, `ngx.update_time` too; the FFI functions read it as the native methods do.
    public static var cachedMilliseconds: UInt64 {
        if let value = pthread_getspecific(cachedTimeKey) { return UInt64(UInt(bitPattern: value)) }
        return refreshCachedTime()
    }

    @discardableResult
    public static func refreshCachedTime() -> UInt64 {
        let now = nowMilliseconds()
        pthread_setspecific(cachedTimeKey, UnsafeRawPointer(bitPattern: UInt(now)))
        return now
    }

    /// The wall clock in milliseconds, as nginx's `ngx_timeofday` reads it.
    public static func nowMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) &* 1000 &+ UInt64(spec.tv_nsec / 1_000_000)
    }
}

/// A `lua_shared_dict` directive: a zone's name and size.
public struct SharedDictDeclaration: Sendable, Equatable {
    public var name: String
    public var size: Int
    public init(name: String, size: Int) {
        self.name = name
        self.size = size
    }
}

/// The zones of one server, kept across reloads as nginx keeps a zone whose name and size
/// did not change (its contents survive `-s reload`); a zone whose size changed starts empty.
public final class SharedDictZones: Sendable {
    private let zones = Mutex<[String: SharedDict]>([:])

    public init() {}

    /// The zones `declarations` name, reusing the ones already there; zones no longer
    /// declared are let go.
    public func attach(_ declarations: [SharedDictDeclaration]) throws(SharedDictError) -> [String: SharedDict] {
        try zones.withLock { (zones: inout [String: SharedDict]) throws(SharedDictError) -> [String: SharedDict] in
            var attached: [String: SharedDict] = [:]
            for declaration in declarations {
                if let existing = zones[declaration.name], existing.size == declaration.size {
                    attached[declaration.name] = existing
                } else if let zone = SharedDict(name: declaration.name, size: declaration.size) {
                    attached[declaration.name] = zone
                } else {
                    throw SharedDictError("ngx_slab_alloc() failed: no memory in lua_shared_dict zone \"\(declaration.name)\"")
                }
            }
            zones = attached
            return attached
        }
    }
}
