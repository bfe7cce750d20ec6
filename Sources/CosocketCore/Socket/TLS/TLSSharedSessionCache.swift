import COpenSSL
import Synchronization

/// `ssl_session_cache shared:NAME:SIZE`: serialized sessions by ID, one store per name for the
/// whole process. nginx keeps it in shared memory for its worker processes; the workers here
/// are threads of one process, so a store behind a lock does, held for one insert, lookup or
/// removal (a handshake that makes or resumes a session by ID, never a request).
///
/// SIZE bounds the bytes the sessions take (their DER and ID); the oldest go first when a new
/// one would not fit, as nginx's zone drops its oldest sessions to make room.
public final class TLSSharedSessionCache: Sendable {
    public let name: String
    public let capacity: Int
    private let store: Mutex<Store>

    struct Store {
        var sessions: [[UInt8]: Entry] = [:]
        /// IDs oldest first, with tombstones for ones removed or replaced (compacted when
        /// they outnumber the live ones).
        var order: [[UInt8]] = []
        var orderStart = 0
        var bytes = 0
    }

    struct Entry {
        var der: [UInt8]
        /// Seconds since the epoch (OpenSSL's session time plus its timeout).
        var expiry: Int64
    }

    private static let registry = Mutex<[String: TLSSharedSessionCache]>([:])

    /// The store named `name`, made with `size` bytes the first time (a later configuration
    /// naming it again reuses it: sessions survive a reload, as nginx's zone does).
    public static func named(_ name: String, size: Int) -> TLSSharedSessionCache {
        registry.withLock { caches in
            if let cache = caches[name], cache.capacity == size { return cache }
            let cache = TLSSharedSessionCache(name: name, capacity: size)
            caches[name] = cache
            return cache
        }
    }

    init(name: String, capacity: Int) {
        self.name = name
        self.capacity = capacity
        store = Mutex(Store())
    }

    /// How many sessions it holds.
    public var count: Int { store.withLock { $0.sessions.count } }

    func insert(id: [UInt8], der: [UInt8], expiry: Int64, now: Int64) {
        let size = der.count + id.count
        guard size <= capacity else { return }
        store.withLock { store in
            if let old = store.sessions.removeValue(forKey: id) { store.bytes -= old.der.count + id.count }
            while store.bytes + size > capacity, store.orderStart < store.order.count {
                let oldest = store.order[store.orderStart]
                store.orderStart += 1
                if let old = store.sessions.removeValue(forKey: oldest) { store.bytes -= old.der.count + oldest.count }
            }
            store.sessions[id] = Entry(der: der, expiry: expiry)
            store.bytes += size
            store.order.append(id)
            if store.orderStart > 64, store.orderStart * 2 > store.order.count {
                store.order = store.order[store.orderStart...].filter { store.sessions[$0] != nil }
                store.orderStart = 0
            }
        }
    }

    func lookup(id: [UInt8], now: Int64) -> [UInt8]? {
        store.withLock { store in
            guard let entry = store.sessions[id] else { return nil }
            if entry.expiry <= now {
                store.sessions[id] = nil
                store.bytes -= entry.der.count + id.count
                return nil
            }
            return entry.der
        }
    }

    func remove(id: [UInt8]) {
        store.withLock { store in
            if let old = store.sessions.removeValue(forKey: id) { store.bytes -= old.der.count + id.count }
        }
    }
}

extension TLSSharedSessionCache {
    /// The ID of `session`.
    static func identifier(of session: OpaquePointer) -> [UInt8] {
        var length: UInt32 = 0
        guard let bytes = SSL_SESSION_get_id(session, &length) else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(length)))
    }

    /// `session` serialized, with when it expires.
    func store(_ session: OpaquePointer) {
        let id = Self.identifier(of: session)
        guard !id.isEmpty else { return }
        let length = i2d_SSL_SESSION(session, nil)
        guard length > 0, length <= 64 * 1024 else { return }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_SSL_SESSION(session, &cursor)
        }
        guard written == length else { return }
        let expiry = Int64(SSL_SESSION_get_time(session)) + Int64(SSL_SESSION_get_timeout(session))
        insert(id: id, der: der, expiry: expiry, now: Int64(time(nil)))
    }

    /// The session stored under `id`, deserialized (one reference, the caller's).
    func session(id: [UInt8]) -> OpaquePointer? {
        guard let der = lookup(id: id, now: Int64(time(nil))) else { return nil }
        return der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_SSL_SESSION(nil, &cursor, buffer.count)
        }
    }
}
