#if canImport(Glibc)
import Glibc
#endif

// resty/core/phase.lua, exit.lua, ctx.lua, param.lua, ndk.lua and misc.lua's `get_conf_env`
// (ngx_http_lua_phase.c, ngx_http_lua_control.c, ngx_http_lua_ctx.c, ...): what a request's
// phase and control flow need. `ngx.exit`, `ngx.ctx` and `ngx.arg` stay native (their state
// lives in our scheduler), so these serve direct callers; see README's differences.

/// lua-nginx-module's context bits (NGX_HTTP_LUA_CONTEXT_*), which resty.core maps to names.
private let phaseBits: [String: Int32] = [
    "set": 0x0001, "rewrite": 0x0002, "access": 0x0004, "content": 0x0008, "log": 0x0010,
    "header_filter": 0x0020, "body_filter": 0x0040, "timer": 0x0080, "init_worker": 0x0100,
    "balancer": 0x0200, "ssl_cert": 0x0400, "ssl_session_store": 0x0800, "ssl_session_fetch": 0x1000,
    "exit_worker": 0x2000, "ssl_client_hello": 0x4000,
]

@_cdecl("ngx_http_lua_ffi_get_phase")
public func ngx_http_lua_ffi_get_phase(_ r: UnsafeMutableRawPointer?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let context = FFIRequest.context(r) else {
        err?.pointee = FFIMessage.pointer("no request context")
        return FFIStatus.error
    }
    return phaseBits[context.phaseName] ?? 0x0008
}

/// `ngx.exit(status)` as resty.core calls it: NGX_OK when the caller must yield now (the
/// scheduler then ends the phase or the request, as our native `ngx.exit` makes it), FFI_DONE
/// when the host took over and the call just returns.
@_cdecl("ngx_http_lua_ffi_exit")
public func ngx_http_lua_ffi_exit(_ r: UnsafeMutableRawPointer?, _ status: Int32, _ err: UnsafeMutablePointer<UInt8>?, _ errlen: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let coroutine = FFIRequest.worker(r)?.current else {
        ffiWriteError("no request ctx found", to: err, length: errlen)
        return FFIStatus.error
    }
    guard coroutine.context.allowsExit else {
        ffiWriteError("API disabled in the context of \(coroutine.context.disabledContextName)", to: err, length: errlen)
        return FFIStatus.error
    }
    if Int(status) == LuaExitCode.again || Int(status) == LuaExitCode.done {
        ffiWriteError(LuaExitCode.refusal, to: err, length: errlen)
        return FFIStatus.error
    }
    coroutine.context.exitStatus = Int(status)
    if let host = coroutine.context.request, host.handleExit(status: Int(status), context: coroutine.context) {
        return FFIStatus.done
    }
    coroutine.wait = .exit
    return FFIStatus.ok
}

/// `ngx.ctx` lives in our contexts (a registry reference each), not in resty.core's
/// `ngx_lua_ctx_tables`: there is no reference to give.
@_cdecl("ngx_http_lua_ffi_get_ctx_ref")
public func ngx_http_lua_ffi_get_ctx_ref(_ r: UnsafeMutableRawPointer?, _ inSSLPhase: UnsafeMutablePointer<Int32>?, _ sslContextRef: UnsafeMutablePointer<Int32>?) -> Int32 {
    FFIStatus.noRequestContext
}

@_cdecl("ngx_http_lua_ffi_set_ctx_ref")
public func ngx_http_lua_ffi_set_ctx_ref(_ r: UnsafeMutableRawPointer?, _ reference: Int32) -> Int32 {
    FFIStatus.noRequestContext
}

/// `env NAME=value;` values are not kept: NGX_DECLINED, and resty.core's `os.getenv` falls
/// back to the process environment.
@_cdecl("ngx_http_lua_ffi_get_conf_env")
public func ngx_http_lua_ffi_get_conf_env(_ name: UnsafePointer<UInt8>?, _ buffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ nameLength: UnsafeMutablePointer<Int>?) -> Int32 {
    FFIStatus.declined
}

/// `ngx.arg` of `set_by_lua*` and `body_filter_by_lua*` is served natively; through these
/// resty.core would find no arguments and an end of stream.
@_cdecl("ngx_http_lua_ffi_get_setby_param")
public func ngx_http_lua_ffi_get_setby_param(_ r: UnsafeMutableRawPointer?, _ index: Int32, _ data: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ length: UnsafeMutablePointer<Int>?) {
    data?.pointee = nil
    length?.pointee = 0
}

@_cdecl("ngx_http_lua_ffi_get_body_filter_param_eof")
public func ngx_http_lua_ffi_get_body_filter_param_eof(_ r: UnsafeMutableRawPointer?) -> Int32 { 1 }

@_cdecl("ngx_http_lua_ffi_get_body_filter_param_body")
public func ngx_http_lua_ffi_get_body_filter_param_body(_ r: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    data?.pointee = nil
    length?.pointee = 0
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_copy_body_filter_param_body")
public func ngx_http_lua_ffi_copy_body_filter_param_body(_ r: UnsafeMutableRawPointer?, _ data: UnsafeMutablePointer<UInt8>?) -> Int32 {
    FFIStatus.ok
}

/// No nginx development kit here: `ndk.set_var.DIRECTIVE` finds no directive (resty.core:
/// `ndk.set_var: directive "NAME" not found or does not use ndk_set_var_value`).
@_cdecl("ngx_http_lua_ffi_ndk_lookup_directive")
public func ngx_http_lua_ffi_ndk_lookup_directive(_ name: UnsafePointer<UInt8>?, _ length: Int, _ function: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    function?.pointee = nil
    return FFIStatus.declined
}

@_cdecl("ngx_http_lua_ffi_ndk_set_var_get")
public func ngx_http_lua_ffi_ndk_set_var_get(_ r: UnsafeMutableRawPointer?, _ function: UnsafeMutableRawPointer?, _ argument: UnsafePointer<UInt8>?, _ length: Int, _ value: UnsafeMutableRawPointer?) -> Int32 {
    FFIStatus.error
}
