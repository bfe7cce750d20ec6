#if canImport(Glibc)
import Glibc
#endif

// resty/core/var.lua and request.lua's C functions (ngx_http_lua_variable.c,
// ngx_http_lua_headers.c, ngx_http_lua_args.c, ngx_http_lua_misc.c) over the request's
// ``LuaRequestHost``: the same variables, headers and arguments as our native `ngx.var` and
// `ngx.req.*`. Strings handed out by pointer live in ``FFIScratch`` until resty.core copies
// them. `r` is resolved by ``FFIRequest``.

/// nginx's default and bound for `get_headers` / `get_uri_args` (NGX_HTTP_LUA_MAX_HEADERS,
/// NGX_HTTP_LUA_MAX_ARGS): a negative `max` means 100, 0 means no limit.
private func limit(_ maximum: Int32) -> Int { maximum < 0 ? 100 : maximum == 0 ? Int.max : Int(maximum) }

@_cdecl("ngx_http_lua_ffi_var_get")
public func ngx_http_lua_ffi_var_get(
    _ r: UnsafeMutableRawPointer?, _ name: UnsafePointer<UInt8>?, _ nameLength: Int, _ lowercaseBuffer: UnsafeMutablePointer<UInt8>?,
    _ captureID: Int32, _ value: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ valueLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    let host: any LuaRequestHost
    switch FFIRequest.host(r) {
    case .success(let found): host = found
    case .failure(let failure):
        err?.pointee = FFIMessage.pointer(failure.status == FFIStatus.noRequestContext ? "no request object found" : "API disabled in the current context")
        return FFIStatus.error
    }
    let found: String?
    if name == nil {
        found = host.capture(Int(captureID))
    } else {
        let lowered = ffiBytes(name, nameLength).map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
        found = host.variable(String(decoding: lowered, as: UTF8.self))
    }
    guard let found else { return FFIStatus.declined }
    guard let stored = FFIScratch.store([Array(found.utf8)])?.first else { return FFIStatus.error }
    value?.pointee = stored.0
    valueLength?.pointee = stored.1
    return FFIStatus.ok
}

/// A null `value` is `nil` (the variable becomes not found); errors go to `errbuf`.
@_cdecl("ngx_http_lua_ffi_var_set")
public func ngx_http_lua_ffi_var_set(
    _ r: UnsafeMutableRawPointer?, _ name: UnsafePointer<UInt8>?, _ nameLength: Int, _ lowercaseBuffer: UnsafeMutablePointer<UInt8>?,
    _ value: UnsafePointer<UInt8>?, _ valueLength: Int, _ errbuf: UnsafeMutablePointer<UInt8>?, _ errlen: UnsafeMutablePointer<Int>?
) -> Int32 {
    let host: any LuaRequestHost
    switch FFIRequest.host(r) {
    case .success(let found): host = found
    case .failure(let failure):
        ffiWriteError(failure.status == FFIStatus.noRequestContext ? "no request object found" : "API disabled in the current context", to: errbuf, length: errlen)
        return FFIStatus.error
    }
    let lowered = String(decoding: ffiBytes(name, nameLength).map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    let text = value == nil ? nil : String(decoding: ffiBytes(value, valueLength), as: UTF8.self)
    guard host.setVariable(lowered, text) else {
        ffiWriteError("variable \"\(lowered)\" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use \"set $\(lowered) '';\" in the config file to define it first", to: errbuf, length: errlen)
        return FFIStatus.error
    }
    return FFIStatus.ok
}

/// When the request started (its host's ``LuaRequestHost/startTime``, else now).
@_cdecl("ngx_http_lua_ffi_req_start_time")
public func ngx_http_lua_ffi_req_start_time(_ r: UnsafeMutableRawPointer?) -> Double {
    guard case .success(let host) = FFIRequest.host(r) else { return Clock.now() }
    let start = host.startTime
    return start
}

@_cdecl("ngx_http_lua_ffi_req_get_headers_count")
public func ngx_http_lua_ffi_req_get_headers_count(_ r: UnsafeMutableRawPointer?, _ maximum: Int32, _ truncated: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    let count = host.requestHeaders.count
    let bound = limit(maximum)
    truncated?.pointee = count > bound ? 1 : 0
    if count > bound { FFIRequest.worker(r)?.log(.debug, "lua hit request header limit \(bound)") }
    return Int32(clamping: min(count, bound))
}

/// The first `count` headers, names lower-cased unless `raw`.
@_cdecl("ngx_http_lua_ffi_req_get_headers")
public func ngx_http_lua_ffi_req_get_headers(_ r: UnsafeMutableRawPointer?, _ outPointer: UnsafeMutableRawPointer?, _ count: Int32, _ raw: Int32) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    guard let out = outPointer?.assumingMemoryBound(to: NgxLuaFFITableElt.self), count > 0 else { return FFIStatus.ok }
    let headers = host.requestHeaders.prefix(max(0, Int(count)))
    var strings: [[UInt8]] = []
    strings.reserveCapacity(headers.count * 2)
    for (name, value) in headers {
        strings.append(raw != 0 ? Array(name.utf8) : Array(name.lowercased().utf8))
        strings.append(Array(value.utf8))
    }
    guard let stored = FFIScratch.store(strings) else { return FFIStatus.error }
    for index in 0..<headers.count {
        let key = stored[2 * index], value = stored[2 * index + 1]
        out[index] = NgxLuaFFITableElt(key: NgxLuaFFIStr(len: Int32(clamping: key.1), data: UnsafePointer(key.0)),
                                       value: NgxLuaFFIStr(len: Int32(clamping: value.1), data: UnsafePointer(value.0)))
    }
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_req_get_uri_args_count")
public func ngx_http_lua_ffi_req_get_uri_args_count(_ r: UnsafeMutableRawPointer?, _ maximum: Int32, _ truncated: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    let bound = limit(maximum)
    let count = NgxCodec.decodeArgs(Array(host.query.utf8), maxArgs: bound == Int.max ? Int.max : bound + 1).count
    truncated?.pointee = count > bound ? 1 : 0
    if count > bound { FFIRequest.worker(r)?.log(.debug, "lua hit query args limit \(bound)") }
    return Int32(clamping: min(count, bound))
}

@_cdecl("ngx_http_lua_ffi_req_get_querystring_len")
public func ngx_http_lua_ffi_req_get_querystring_len(_ r: UnsafeMutableRawPointer?) -> Int {
    guard case .success(let host) = FFIRequest.host(r) else { return 0 }
    return host.query.utf8.count
}

/// The first `count` arguments, unescaped into `buffer` (the query's length, which
/// unescaping never exceeds); a key without `=` gets a value length of -1 (`true`).
@_cdecl("ngx_http_lua_ffi_req_get_uri_args")
public func ngx_http_lua_ffi_req_get_uri_args(_ r: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ outPointer: UnsafeMutableRawPointer?, _ count: Int32) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    guard let buffer, let out = outPointer?.assumingMemoryBound(to: NgxLuaFFITableElt.self), count > 0 else { return 0 }
    let query = Array(host.query.utf8)
    let arguments = NgxCodec.decodeArgs(query, maxArgs: Int(count))
    var cursor = buffer
    let end = buffer + query.count
    var written: Int32 = 0
    func place(_ bytes: [UInt8]) -> NgxLuaFFIStr? {
        guard cursor + bytes.count <= end else { return nil }
        bytes.withUnsafeBufferPointer { if let base = $0.baseAddress { cursor.update(from: base, count: $0.count) } }
        defer { cursor += bytes.count }
        return NgxLuaFFIStr(len: Int32(clamping: bytes.count), data: UnsafePointer(cursor))
    }
    for (key, value) in arguments.prefix(max(0, Int(count))) {
        guard let keyString = place(key) else { break }
        let valueString: NgxLuaFFIStr
        if let value {
            guard let placed = place(value) else { break }
            valueString = placed
        } else {
            valueString = NgxLuaFFIStr(len: -1, data: nil)
        }
        out[Int(written)] = NgxLuaFFITableElt(key: keyString, value: valueString)
        written += 1
    }
    return written
}

/// nginx's method bits (NGX_HTTP_GET = 0x0002, ...), as resty.core maps them back.
private let methodIDs: [String: Int32] = [
    "GET": 0x0002, "HEAD": 0x0004, "POST": 0x0008, "PUT": 0x0010, "DELETE": 0x0020, "MKCOL": 0x0040,
    "COPY": 0x0080, "MOVE": 0x0100, "OPTIONS": 0x0200, "PROPFIND": 0x0400, "PROPPATCH": 0x0800,
    "LOCK": 0x1000, "UNLOCK": 0x2000, "PATCH": 0x4000, "TRACE": 0x8000,
]

/// NGX_HTTP_UNKNOWN (0x0001) for a method outside the table: resty.core then asks for its name.
@_cdecl("ngx_http_lua_ffi_req_get_method")
public func ngx_http_lua_ffi_req_get_method(_ r: UnsafeMutableRawPointer?) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    return methodIDs[host.method] ?? 0x0001
}

@_cdecl("ngx_http_lua_ffi_req_get_method_name")
public func ngx_http_lua_ffi_req_get_method_name(_ r: UnsafeMutableRawPointer?, _ name: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    guard let stored = FFIScratch.store([Array(host.method.utf8)])?.first else { return FFIStatus.error }
    name?.pointee = stored.0
    length?.pointee = stored.1
    return FFIStatus.ok
}

/// `ngx.req.set_method` over the host's ``LuaRequestHost/setMethod(_:)``; an unknown method
/// number is NGX_DECLINED, as in the reference.
@_cdecl("ngx_http_lua_ffi_req_set_method")
public func ngx_http_lua_ffi_req_set_method(_ r: UnsafeMutableRawPointer?, _ method: Int32) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    guard let name = RequestRewriteAPI.methods[Int(method)] else { return FFIStatus.declined }
    host.setMethod(name)
    return FFIStatus.ok
}

/// `ngx.req.set_header`, `clear_header` (`override` 1: the values replace the header's, none
/// removes it) and `ngx.req.add_header` (`override` 0: they join it), escaped as the native
/// functions escape them. `values` is resty.core's `ngx_http_lua_ffi_str_t` array
/// (`{ int len; const unsigned char *data; }`, 16 bytes each).
@_cdecl("ngx_http_lua_ffi_req_set_header")
public func ngx_http_lua_ffi_req_set_header(
    _ r: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int, _ value: UnsafePointer<UInt8>?, _ valueLength: Int,
    _ values: UnsafeMutableRawPointer?, _ valueCount: Int, _ override: Int32, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    let name = HeaderEscaping.name(String(decoding: ffiBytes(key, keyLength), as: UTF8.self))
    var added: [String] = []
    if let values, valueCount > 0 {
        for index in 0..<valueCount {
            let entry = values + index * 16
            let length = Int(entry.load(as: Int32.self))
            let data = entry.load(fromByteOffset: 8, as: UnsafePointer<UInt8>?.self)
            added.append(HeaderEscaping.value(String(decoding: ffiBytes(data, length), as: UTF8.self)))
        }
    } else if let value {
        added.append(HeaderEscaping.value(String(decoding: ffiBytes(value, valueLength), as: UTF8.self)))
    }
    if override != 0 {
        host.setRequestHeader(name, added.isEmpty ? nil : added)
    } else if !added.isEmpty {
        let existing = host.requestHeaders.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        host.setRequestHeader(name, existing + added)
    }
    return FFIStatus.ok
}

/// A request is internal once a jump or `ngx.exec` moved it, and a subrequest always is.
@_cdecl("ngx_http_lua_ffi_req_is_internal")
public func ngx_http_lua_ffi_req_is_internal(_ r: UnsafeMutableRawPointer?) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    return host.isInternal ? 1 : 0
}

@_cdecl("ngx_http_lua_ffi_is_subrequest")
public func ngx_http_lua_ffi_is_subrequest(_ r: UnsafeMutableRawPointer?) -> Int32 {
    guard case .success(let host) = FFIRequest.host(r) else { return FFIStatus.badContext }
    return host.isSubrequest ? 1 : 0
}
