#if canImport(Glibc)
import Glibc
#endif

// resty/core/response.lua and misc.lua's C functions for `ngx.header`, `ngx.resp.add_header`,
// `ngx.status` and `ngx.headers_sent` (ngx_http_lua_headers.c, ngx_http_lua_misc.c) over the
// request's ``LuaRequestHost`` and the context's output, as our native ones.

/// nginx turns `_` into `-` in names set or read from Lua (`lua_transform_underscores_in_response_headers`).
private func headerName(_ key: UnsafePointer<UInt8>?, _ length: Int, transforming: Bool = true) -> String {
    guard transforming else { return String(decoding: ffiBytes(key, length), as: UTF8.self) }
    return String(decoding: ffiBytes(key, length).map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
}

@_cdecl("ngx_http_lua_ffi_get_resp_status")
public func ngx_http_lua_ffi_get_resp_status(_ r: UnsafeMutableRawPointer?) -> Int32 {
    switch FFIRequest.host(r) {
    case .success(let host):
        let readsSet = FFIRequest.context(r)?.readsSetStatus ?? true
        return Int32(clamping: readsSet ? host.status : host.luaStatus)
    case .failure(let failure): return failure.status == FFIStatus.noRequestContext ? failure.status : FFIStatus.badContext
    }
}

/// After the headers went out the reference logs and leaves the status alone.
@_cdecl("ngx_http_lua_ffi_set_resp_status")
public func ngx_http_lua_ffi_set_resp_status(_ r: UnsafeMutableRawPointer?, _ status: Int32) -> Int32 {
    guard let worker = FFIRequest.worker(r), let context = worker.current?.context, let host = context.request else { return FFIStatus.badContext }
    if context.headersSentForLua {
        worker.log(.error, "attempt to set ngx.status after sending out response headers")
        return FFIStatus.declined
    }
    host.status = Int(status)
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_headers_sent")
public func ngx_http_lua_ffi_headers_sent(_ r: UnsafeMutableRawPointer?) -> Int32 {
    guard let context = FFIRequest.context(r) else { return FFIStatus.noRequestContext }
    guard context.request != nil, context.output != nil else { return FFIStatus.badContext }
    return context.headersSentForLua ? 1 : 0
}

/// `ngx.header[key] = value` (`override` 1) and `ngx.resp.add_header` (`override` 0, which
/// appends): one string in `sval`, or `valueCount` strings in `values`, or `isNil` to remove.
@_cdecl("ngx_http_lua_ffi_set_resp_header")
public func ngx_http_lua_ffi_set_resp_header(
    _ r: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int, _ isNil: Int32,
    _ sval: UnsafePointer<UInt8>?, _ svalLength: Int, _ valuesPointer: UnsafeMutableRawPointer?, _ valueCount: Int,
    _ override: Int32, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let worker = FFIRequest.worker(r), let context = worker.current?.context else { return FFIStatus.noRequestContext }
    guard let host = context.request else { return FFIStatus.badContext }
    if context.headersSentForLua {
        worker.log(.error, "attempt to set ngx.header.HEADER after sending out response headers")
        return FFIStatus.declined
    }
    let name = headerName(key, keyLength, transforming: host.transformsUnderscores)
    if isNil != 0 {
        host.setResponseHeader(name, nil)
        return FFIStatus.ok
    }
    var strings: [String] = []
    if let values = valuesPointer?.assumingMemoryBound(to: NgxLuaFFIStr.self), valueCount > 0 {
        for index in 0..<valueCount {
            strings.append(String(decoding: ffiBytes(values[index].data, Int(max(0, values[index].len))), as: UTF8.self))
        }
    } else if valueCount == 0 {
        strings.append(String(decoding: ffiBytes(sval, svalLength), as: UTF8.self))
    }
    if override == 0 {
        strings = (host.responseHeader(name) ?? []) + strings
    }
    // nginx parses a Content-Length it is given (ngx_atoof) and refuses anything else.
    if isContentLength(name), let last = strings.last, !isLength(last) {
        errmsg?.pointee = FFIMessage.pointer("failed to set header")
        return FFIStatus.error
    }
    host.setResponseHeader(name, strings)
    return FFIStatus.ok
}

func isContentLength(_ name: String) -> Bool {
    name.utf8.count == 14 && name.lowercased().replacing("_", with: "-") == "content-length"
}

/// A Content-Length value nginx takes: decimal digits only.
func isLength(_ value: String) -> Bool {
    !value.isEmpty && value.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
}

/// The header's values (at most `maximum`) by pointer into ``FFIScratch``; returns how many.
@_cdecl("ngx_http_lua_ffi_get_resp_header")
public func ngx_http_lua_ffi_get_resp_header(
    _ r: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int, _ keyBuffer: UnsafeMutablePointer<UInt8>?,
    _ valuesPointer: UnsafeMutableRawPointer?, _ maximum: Int32, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    guard let values = valuesPointer?.assumingMemoryBound(to: NgxLuaFFIStr.self), maximum > 0, let found = host.responseHeader(headerName(key, keyLength, transforming: host.transformsUnderscores)), !found.isEmpty else { return 0 }
    let kept = Array(found.prefix(Int(maximum)))
    guard let stored = FFIScratch.store(kept.map { Array($0.utf8) }) else { return FFIStatus.error }
    for (index, entry) in stored.enumerated() {
        values[index] = NgxLuaFFIStr(len: Int32(clamping: entry.1), data: UnsafePointer(entry.0))
    }
    return Int32(kept.count)
}
