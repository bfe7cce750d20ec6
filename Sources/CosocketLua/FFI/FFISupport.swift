#if canImport(Glibc)
import Glibc
#endif

// The C ABI seam lua-resty-core's modules call through LuaJIT's FFI (`ffi.C.ngx_http_lua_ffi_*`):
// one file per resty.core module (FFIRegex.swift, ...), each exporting its functions with
// `@_cdecl` and exactly the prototypes of that module's `ffi.cdef` block. The `cosocket`
// executable is linked with `--export-dynamic`, so `ffi.C` finds them. This file holds what
// they share.

/// nginx's `ngx_str_t`: `size_t len; u_char *data;`.
struct NgxStr {
    var len: Int
    var data: UnsafeMutablePointer<UInt8>?
}

/// The `FFI_OK` / `FFI_ERROR` return codes of resty.core's C functions (`NGX_OK`, `NGX_ERROR`).
enum FFIStatus {
    static let ok: Int32 = 0
    static let error: Int32 = -1
}

/// FFI calls carry no Lua state: they find the worker whose VM runs on the calling thread.
/// Each worker registers itself when created (on its event loop's thread); the reference is
/// weak, so a VM that a reload replaced and that has gone is never reached.
enum FFIWorker {
    private final class Slot {
        weak var worker: LuaWorker?
    }

    nonisolated(unsafe) private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
        }
        return key
    }()

    private static var slot: Slot {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<Slot>.fromOpaque(pointer).takeUnretainedValue()
        }
        let slot = Slot()
        pthread_setspecific(key, Unmanaged.passRetained(slot).toOpaque())
        return slot
    }

    /// Makes `worker` the one FFI calls on this thread reach.
    static func adopt(_ worker: LuaWorker) { slot.worker = worker }

    /// The worker of the calling thread, if it has one.
    static var current: LuaWorker? { pthread_getspecific(key) == nil ? nil : slot.worker }
}

/// Writes `message` NUL-terminated into the caller's `buffer` of `size` bytes (cut to fit, as
/// `ngx_snprintf` cuts); returns the bytes written before the NUL.
@discardableResult
func ffiWriteMessage(_ message: String, to buffer: UnsafeMutablePointer<UInt8>?, size: Int) -> Int {
    guard let buffer, size > 0 else { return 0 }
    let bytes = Array(message.utf8.prefix(size - 1))
    bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: bytes.count) }
    buffer[bytes.count] = 0
    return bytes.count
}
