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

/// The return codes of resty.core's C functions (resty/core/base.lua's `FFI_*`: nginx's
/// `NGX_OK`, `NGX_ERROR`, ... and lua-nginx-module's two of its own).
enum FFIStatus {
    static let ok: Int32 = 0
    static let error: Int32 = -1
    static let again: Int32 = -2
    static let busy: Int32 = -3
    static let done: Int32 = -4
    static let declined: Int32 = -5
    static let noRequestContext: Int32 = -100
    static let badContext: Int32 = -101
}

/// The `ngx_http_request_t *r` that resty.core passes to C: what its `get_request()` returns,
/// which is the running Lua thread's `thread.exdata` (OpenResty's LuaJIT). Every scheduler
/// thread of a worker carries the worker's pointer there, except in the `init` phase, where
/// the reference has no request either (`no request found`); user coroutines inherit it from
/// the thread that creates them, as in the reference. The C functions never read through
/// it: they take the worker from it and the request from the worker's running coroutine, the
/// only request Lua code can be acting for.
enum FFIRequest {
    /// The exdata a coroutine of `worker` running in `context` gets.
    static func pointer(of worker: LuaWorker, in context: LuaContext) -> UnsafeMutableRawPointer? {
        if case .request(let phase) = context.kind, phase == "init" { return nil }
        return worker.opaqueSelf
    }

    /// The worker behind `r`: the VM `r` came from lives no longer than its worker.
    @inline(__always)
    static func worker(_ r: UnsafeMutableRawPointer?) -> LuaWorker? {
        r.map { Unmanaged<LuaWorker>.fromOpaque($0).takeUnretainedValue() }
    }

    /// The context of the coroutine running for `r`.
    @inline(__always)
    static func context(_ r: UnsafeMutableRawPointer?) -> LuaContext? {
        worker(r)?.current?.context
    }

    /// The HTTP request behind `r`, or the status to return when there is none: a context
    /// without one (a timer, a script) is the reference's fake request, `BAD_CONTEXT`.
    @inline(__always)
    static func host(_ r: UnsafeMutableRawPointer?) -> Result<any LuaRequestHost, FFIFailure> {
        guard let context = context(r) else { return .failure(FFIFailure(FFIStatus.noRequestContext)) }
        guard let host = context.request else { return .failure(FFIFailure(FFIStatus.badContext)) }
        return .success(host)
    }
}

/// A status code as an error, for ``FFIRequest/host(_:)``.
struct FFIFailure: Error {
    let status: Int32
    init(_ status: Int32) { self.status = status }
}

/// Memory the C functions hand pointers into (`char **value`), as nginx hands out pointers
/// into its request pool: valid until the next call on the same thread that uses it, which
/// is after resty.core has copied them with `ffi.string`.
enum FFIScratch {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in free(pointer) }
        return key
    }()
    private static let capacityKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// A buffer of at least `count` bytes (contents not kept across calls that grow it).
    static func buffer(_ count: Int) -> UnsafeMutablePointer<UInt8>? {
        let capacity = Int(bitPattern: pthread_getspecific(capacityKey))
        if let pointer = pthread_getspecific(key), capacity >= count {
            return pointer.assumingMemoryBound(to: UInt8.self)
        }
        let size = max(count, 4096, capacity * 2)
        free(pthread_getspecific(key))
        guard let fresh = malloc(size) else {
            pthread_setspecific(key, nil)
            pthread_setspecific(capacityKey, nil)
            return nil
        }
        pthread_setspecific(key, fresh)
        pthread_setspecific(capacityKey, UnsafeRawPointer(bitPattern: size))
        return fresh.assumingMemoryBound(to: UInt8.self)
    }

    /// `strings` copied one after another into the buffer, as (pointer, length) pairs.
    static func store(_ strings: [[UInt8]]) -> [(UnsafeMutablePointer<UInt8>?, Int)]? {
        let total = strings.reduce(0) { $0 + $1.count }
        guard var cursor = buffer(max(total, 1)) else { return nil }
        var result: [(UnsafeMutablePointer<UInt8>?, Int)] = []
        result.reserveCapacity(strings.count)
        for string in strings {
            string.withUnsafeBufferPointer { if let base = $0.baseAddress { cursor.update(from: base, count: $0.count) } }
            result.append((cursor, string.count))
            cursor += string.count
        }
        return result
    }
}

/// lua-nginx-module's `ngx_http_lua_ffi_str_t`: `int len; const unsigned char *data;`.
struct NgxLuaFFIStr {
    var len: Int32
    var data: UnsafePointer<UInt8>?
}

/// `ngx_http_lua_ffi_table_elt_t`: a key and a value.
struct NgxLuaFFITableElt {
    var key: NgxLuaFFIStr
    var value: NgxLuaFFIStr
}

/// Bytes from a C pointer and length (none for a null pointer or a length of 0).
@inline(__always)
func ffiBytes(_ pointer: UnsafePointer<UInt8>?, _ length: Int) -> UnsafeRawBufferPointer {
    guard let pointer, length > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: pointer, count: length)
}

/// Writes `message` into the `unsigned char *err, size_t *errlen` pair (cut to `*errlen`).
func ffiWriteError(_ message: String, to buffer: UnsafeMutablePointer<UInt8>?, length: UnsafeMutablePointer<Int>?) {
    guard let buffer, let length else { return }
    let bytes = Array(message.utf8.prefix(max(0, length.pointee)))
    bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer.update(from: base, count: bytes.count) } }
    length.pointee = bytes.count
}

/// The C strings handed out through `char **errmsg` out-parameters (made once, never freed).
enum FFIMessage {
    nonisolated(unsafe) private static let messages: [String: UnsafeMutablePointer<CChar>] = Dictionary(
        uniqueKeysWithValues: (["no request object found", "API disabled in the current context", "no request context",
                                "privileged agent process is not supported",
                                "changing request headers is not supported yet", "unknown error"] + sslMessages)
                               .map { ($0, strdup($0)!) })

    /// Those of `ngx.ssl*` (FFISSL.swift and ``TLSServerHandshake``'s API), in the reference's words.
    private static let sslMessages = [
        "no request found", "bad request", "bad ssl conn", "failed to fetch socket address", "i2d_X509() failed",
        "i2d_PrivateKey() failed", "PEM_read_bio_X509_AUX() failed", "PEM_read_bio_PrivateKey() failed",
        "BIO_new_mem_buf() failed", "d2i_X509_bio() failed", "SSL_use_certificate() failed", "SSL_add1_chain_cert() failed",
        "d2i_PrivateKey_bio() failed", "SSL_use_PrivateKey() failed", "sk_X509_value() failed", "bad ca certs",
        "X509_STORE_new() failed", "sk_X509_NAME_new_null() failed", "X509_STORE_add_cert() failed",
        "SSL_set1_verify_cert_store() failed", "bad SSL Client Hello Extension", "no memory", "d2i_SSL_SESSION() failed",
        "bad session in lua context", "uninitialized session id in lua context", "i2d_SSL_SESSION() failed",
    ]

    static func pointer(_ message: String) -> UnsafeMutablePointer<CChar>? {
        messages[message] ?? messages["unknown error"]
    }
}

/// FFI calls carry no Lua state: they find what they need from the worker whose VM runs on
/// the calling thread, copied here when the worker is created (on its event loop's thread).
/// No reference to the worker itself: a weak one would move every retain of the worker to a
/// side table (profiles showed those at a quarter of an `ngx.re.match`), and the worker
/// may be gone (a reload) while another VM of the thread still calls.
final class FFIWorker {
    let regexContext: RegexMatchContext
    let regexCacheMaxEntries: Int
    let workerID: Int
    let workerCount: Int
    let masterProcess: Bool
    let logLevel: LuaLogLevel
    /// Set when the worker starts shutting down (`ngx.worker.exiting()`).
    var isExiting = false
    private let errorLog: any LuaErrorLog

    private init(_ worker: LuaWorker) {
        regexContext = worker.regexCache.context
        regexCacheMaxEntries = worker.configuration.regexCacheMaxEntries
        workerID = worker.workerID
        workerCount = worker.configuration.workerCount
        masterProcess = worker.configuration.masterProcess
        logLevel = worker.configuration.logLevel
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

    /// The thread's PCRE2 match context, beside ``key``: a match reads it with no reference
    /// counting. The FFIWorker under ``key`` keeps it alive.
    private static let matchContextKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Makes `worker`'s settings the ones FFI calls on this thread use.
    @discardableResult
    static func adopt(_ worker: LuaWorker) -> FFIWorker {
        let made = FFIWorker(worker)
        pthread_setspecific(matchContextKey, made.regexContext.pointer.map { UnsafeRawPointer($0) })
        if let old = pthread_getspecific(key) { Unmanaged<FFIWorker>.fromOpaque(old).release() }
        pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
        return made
    }

    /// The calling thread's worker's match context (`lua_regex_match_limit`, the JIT stack);
    /// nil on a thread without a worker, which PCRE2 reads as its defaults.
    @inline(__always)
    static var currentMatchContext: OpaquePointer? {
        pthread_getspecific(matchContextKey).map { OpaquePointer($0) }
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
    ffiWriteMessage(Array(message.utf8), to: buffer, size: size)
}

/// The same for a message that need not be UTF-8.
@discardableResult
func ffiWriteMessage(_ message: [UInt8], to buffer: UnsafeMutablePointer<UInt8>?, size: Int) -> Int {
    guard let buffer, size > 0 else { return 0 }
    let bytes = Array(message.prefix(size - 1))
    bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { buffer.update(from: base, count: bytes.count) } }
    buffer[bytes.count] = 0
    return bytes.count
}
