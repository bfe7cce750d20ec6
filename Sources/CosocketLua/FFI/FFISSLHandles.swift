import CLuaJIT
import CosocketCore

#if canImport(Glibc)
import Glibc
#endif

/// The `void *` handles `ngx.ssl.parse_pem_cert` and `parse_pem_priv_key` return (retained
/// ``TLSCertificateChain`` and ``TLSPrivateKey`` objects), and the check every use makes: a
/// pointer is used only while it is one this process handed out and has not freed, so that a
/// forged or freed cdata passed back from Lua cannot reach OpenSSL. Parsing is rare, so one
/// lock for the whole process costs nothing that matters.
enum FFISSLHandles {
    private final class Registry: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var live: Set<UInt> = []
        init() { pthread_mutex_init(&mutex, nil) }
    }

    private static let registry = Registry()

    private static func locked<T>(_ body: (inout Set<UInt>) -> T) -> T {
        pthread_mutex_lock(&registry.mutex)
        defer { pthread_mutex_unlock(&registry.mutex) }
        return body(&registry.live)
    }

    /// A new handle for `object` (one reference, released by ``free(_:)``).
    static func handle(_ object: AnyObject) -> UnsafeMutableRawPointer {
        let pointer = Unmanaged.passRetained(object).toOpaque()
        _ = locked { $0.insert(UInt(bitPattern: pointer)) }
        return pointer
    }

    /// The object behind a live handle of type `T`.
    static func object<T: AnyObject>(_ pointer: UnsafeRawPointer?, as type: T.Type) -> T? {
        guard let pointer else { return nil }
        return locked { live -> T? in
            guard live.contains(UInt(bitPattern: pointer)) else { return nil }
            return Unmanaged<AnyObject>.fromOpaque(pointer).takeUnretainedValue() as? T
        }
    }

    /// `ngx_http_lua_ffi_free_cert` / `free_priv_key` (the cdata's finalizer).
    static func free(_ pointer: UnsafeRawPointer?) {
        guard let pointer else { return }
        let removed = locked { $0.remove(UInt(bitPattern: pointer)) != nil }
        if removed { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
    }

    /// The chain or key at `index`: a cdata handle from lua-resty-core's `ngx.ssl`, or a
    /// box from the native module (when resty.core is not installed).
    static func value<T: AnyObject>(_ L: LuaState, _ index: Int32, as type: T.Type, seal: UnsafeRawPointer?) -> T? {
        if let boxed = LuaBox.unbox(L, index, as: type, seal: seal) { return boxed }
        // A pointer cdata's payload is the pointer (LuaJIT's lua_topointer gives the payload's
        // address); the registry check makes any other cdata harmless.
        guard luaTypeName(L, index) == "cdata", let payload = lua_topointer(L, index) else { return nil }
        let pointer = payload.assumingMemoryBound(to: UnsafeRawPointer?.self).pointee
        return object(pointer, as: type)
    }
}
