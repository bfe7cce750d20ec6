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

/// FFI calls carry no Lua state: they find what they need from the worker whose VM runs on
/// the calling thread, copied here when the worker is created (on its event loop's thread).
/// No reference to the worker itself: a weak one would move every retain of the worker to a
/// side table (profiles showed those at a quarter of an `ngx.re.match`), and the worker
/// may be gone (a reload) while another VM of the thread still calls.
final class FFIWorker {
    let regexContext: RegexMatchContext
    let regexCacheMaxEntries: Int
    private let errorLog: any LuaErrorLog

    private init(_ worker: LuaWorker) {
        regexContext = worker.regexCache.context
        regexCacheMaxEntries = worker.configuration.regexCacheMaxEntries
        errorLog = worker.errorLog
    }

    /// Logs to the worker's error log (without a request's suffix).
    func log(_ level: LuaLogLevel, _ message: String) { errorLog.log(level, message) }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<FFIWorker>.fromOpaque(pointer).release() }
        }
        return key
    }()

    /// Makes `worker`'s settings the ones FFI calls on this thread use.
    static func adopt(_ worker: LuaWorker) {
        if let old = pthread_getspecific(key) { Unmanaged<FFIWorker>.fromOpaque(old).release() }
        pthread_setspecific(key, Unmanaged.passRetained(FFIWorker(worker)).toOpaque())
    }

    /// The calling thread's worker settings, if a worker was created on it.
    @inline(__always)
    static var current: FFIWorker? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<FFIWorker>.fromOpaque(pointer).takeUnretainedValue()
    }
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
