#if canImport(Glibc)
import Glibc
#endif

// resty/core/worker.lua, ngx/process.lua and ngx/errlog.lua's C functions
// (ngx_http_lua_worker.c, ngx_http_lua_ffi_process.c, ngx_http_lua_log.c) over the worker
// facts ``FFIWorker`` copied for this thread. Our native `ngx.process` and `ngx.errlog` stay
// in `package.loaded` (they know the phase, which these calls are not given); these let
// Debian's modules load and answer the same where they are required by path.

@_cdecl("ngx_http_lua_ffi_worker_id")
public func ngx_http_lua_ffi_worker_id() -> Int32 { Int32(clamping: FFIWorker.current?.workerID ?? -1) }

@_cdecl("ngx_http_lua_ffi_worker_pid")
public func ngx_http_lua_ffi_worker_pid() -> Int32 { getpid() }

@_cdecl("ngx_http_lua_ffi_worker_count")
public func ngx_http_lua_ffi_worker_count() -> Int32 { Int32(clamping: FFIWorker.current?.workerCount ?? 1) }

@_cdecl("ngx_http_lua_ffi_worker_exiting")
public func ngx_http_lua_ffi_worker_exiting() -> Int32 { FFIWorker.current?.isExiting == true ? 1 : 0 }

/// Every worker is a thread of this one process: `count` copies of its pid, at most the
/// 1024 (NGX_MAX_PROCESSES) resty.core allots.
@_cdecl("ngx_http_lua_ffi_worker_pids")
public func ngx_http_lua_ffi_worker_pids(_ pids: UnsafeMutablePointer<Int32>?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let pids, let count else { return FFIStatus.error }
    let workers = min(1024, max(1, FFIWorker.current?.workerCount ?? 1))
    for index in 0..<workers { pids[index] = getpid() }
    count.pointee = workers
    return FFIStatus.ok
}

/// nginx's process types: NGX_PROCESS_SINGLE (0) without `master_process`, else
/// NGX_PROCESS_WORKER (3): Lua code runs in workers (our native `ngx.process.type` also
/// says `master` during `init_by_lua`).
@_cdecl("ngx_http_lua_ffi_get_process_type")
public func ngx_http_lua_ffi_get_process_type() -> Int32 { FFIWorker.current?.masterProcess == true ? 3 : 0 }

@_cdecl("ngx_http_lua_ffi_master_pid")
public func ngx_http_lua_ffi_master_pid() -> Int32 { getpid() }

@_cdecl("ngx_http_lua_ffi_enable_privileged_agent")
public func ngx_http_lua_ffi_enable_privileged_agent(_ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ connections: UInt32) -> Int32 {
    errmsg?.pointee = FFIMessage.pointer("privileged agent process is not supported")
    return FFIStatus.error
}

/// The privileged agent's graceful exit: there is no such process here, so nothing to end.
@_cdecl("ngx_http_lua_ffi_process_signal_graceful_exit")
public func ngx_http_lua_ffi_process_signal_graceful_exit() {}

@_cdecl("ngx_http_lua_ffi_errlog_get_sys_filter_level")
public func ngx_http_lua_ffi_errlog_get_sys_filter_level(_ r: UnsafeMutableRawPointer?) -> Int32 {
    Int32(FFIWorker.current?.logLevel.rawValue ?? LuaLogLevel.error.rawValue)
}

/// `raw_log(level, msg)`: NGX_ERROR for a level outside STDERR..DEBUG (resty.core then raises
/// `bad log level`).
@_cdecl("ngx_http_lua_ffi_raw_log")
public func ngx_http_lua_ffi_raw_log(_ r: UnsafeMutableRawPointer?, _ level: Int32, _ text: UnsafePointer<UInt8>?, _ length: Int) -> Int32 {
    guard let level = LuaLogLevel(rawValue: Int(level)) else { return FFIStatus.error }
    let message = String(decoding: ffiBytes(text, length), as: UTF8.self)
    if let worker = FFIRequest.worker(r) {
        if level <= worker.configuration.logLevel { worker.log(level, message) }
    } else if let current = FFIWorker.current, level <= current.logLevel {
        current.log(level, message)
    }
    return FFIStatus.ok
}

/// `lua_capture_error_log` is not implemented: the filter and the captured messages report
/// it as the reference does without the directive.
@_cdecl("ngx_http_lua_ffi_errlog_set_filter_level")
public func ngx_http_lua_ffi_errlog_set_filter_level(_ level: Int32, _ err: UnsafeMutablePointer<UInt8>?, _ errlen: UnsafeMutablePointer<Int>?) -> Int32 {
    ffiWriteError("directive \"lua_capture_error_log\" is not set", to: err, length: errlen)
    return FFIStatus.error
}

@_cdecl("ngx_http_lua_ffi_errlog_get_msg")
public func ngx_http_lua_ffi_errlog_get_msg(
    _ log: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ logLevel: UnsafeMutablePointer<Int32>?,
    _ err: UnsafeMutablePointer<UInt8>?, _ errlen: UnsafeMutablePointer<Int>?, _ logTime: UnsafeMutablePointer<Double>?
) -> Int32 {
    ffiWriteError("directive \"lua_capture_error_log\" is not set", to: err, length: errlen)
    return FFIStatus.error
}
