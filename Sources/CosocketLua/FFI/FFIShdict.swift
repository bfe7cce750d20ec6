#if canImport(Glibc)
import Glibc
#endif

// resty/core/shdict.lua (lua-resty-core 0.1.25) over ``SharedDict``: the nine
// `ngx_http_lua_ffi_shdict_*` functions with exactly the prototypes of its `ffi.cdef` block, so
// Debian's module runs unchanged over the same store as our native `ngx.shared` methods. Its
// `zone` pointers are what `udata_to_zone` returns for a dict's userdata (``SharedDictZone``).

/// The bytes of `ngx.shared.NAME[1]`, the zone userdata: the dict (unretained: the worker's
/// configuration keeps it alive) and a seal derived from it, so that a userdata of another
/// kind is never taken for a zone.
struct SharedDictZone {
    var dict: UnsafeMutableRawPointer
    var seal: UInt

    private static let secret: UInt = 0x5ad1_c7e3_9b04_f261

    init(_ dict: SharedDict) {
        self.dict = Unmanaged.passUnretained(dict).toOpaque()
        seal = UInt(bitPattern: self.dict) ^ Self.secret
    }

    /// The dict of a zone userdata's bytes, if they are one.
    static func dict(at payload: UnsafeRawPointer) -> SharedDict? {
        let zone = payload.load(as: SharedDictZone.self)
        guard zone.seal == UInt(bitPattern: zone.dict) ^ secret else { return nil }
        return Unmanaged<SharedDict>.fromOpaque(zone.dict).takeUnretainedValue()
    }
}

/// The reference's `NGX_OK`, `NGX_ERROR` and `NGX_DECLINED`.
private enum ShdictStatus {
    static let ok: Int32 = 0
    static let error: Int32 = -1
    static let declined: Int32 = -5
}

/// The store's error strings as the `char *` the reference hands out: allocated once, never freed.
private enum ShdictMessage {
    nonisolated(unsafe) private static let messages: [String: UnsafeMutablePointer<CChar>] = Dictionary(
        uniqueKeysWithValues: ["value is a list", "not found", "not a number", "no memory", "exists",
                               "attempt to add or replace nil values", "unsupported value type"].map { ($0, strdup($0)!) })

    static func pointer(_ message: String) -> UnsafeMutablePointer<CChar>? {
        messages[message] ?? messages["no memory"]
    }
}

@inline(__always)
private func dict(_ zone: UnsafeMutableRawPointer?) -> SharedDict? {
    zone.map { Unmanaged<SharedDict>.fromOpaque($0).takeUnretainedValue() }
}

@inline(__always)
private func keyBytes(_ key: UnsafePointer<UInt8>?, _ length: Int) -> UnsafeRawBufferPointer {
    guard let key, length > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: key, count: length)
}

@_cdecl("ngx_http_lua_ffi_shdict_udata_to_zone")
public func ngx_http_lua_ffi_shdict_udata_to_zone(_ udata: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let udata, let dict = SharedDictZone.dict(at: udata) else { return nil }
    return Unmanaged.passUnretained(dict).toOpaque()
}

@_cdecl("ngx_http_lua_ffi_shdict_get")
public func ngx_http_lua_ffi_shdict_get(
    _ zone: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int,
    _ valueType: UnsafeMutablePointer<Int32>?, _ stringBuffer: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ stringLength: UnsafeMutablePointer<Int>?, _ number: UnsafeMutablePointer<Double>?,
    _ userFlags: UnsafeMutablePointer<Int32>?, _ getStale: Int32, _ isStale: UnsafeMutablePointer<Int32>?,
    _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let zone else { return ShdictStatus.error }
    // The zone is the dict's unretained pointer (the process's dicts live as long as it does):
    // borrowed, not retained and released per call.
    return Unmanaged<SharedDict>.fromOpaque(zone)._withUnsafeGuaranteedRef { (dict: SharedDict) -> Int32 in
        errmsg?.pointee = nil
        let bytes = keyBytes(key, keyLength)
        switch dict.withStore(now: SharedDict.cachedMilliseconds, { $0.get(bytes, stale: getStale != 0, now: $1) }) {
        case .missing:
            valueType?.pointee = 0
            return ShdictStatus.ok
        case .list:
            valueType?.pointee = 5
            errmsg?.pointee = ShdictMessage.pointer("value is a list")
            return ShdictStatus.error
        case .found(let value, let flags, let stale):
            switch value {
            case .string(let data):
                valueType?.pointee = 4
                if data.count > (stringLength?.pointee ?? 0) {
                    // resty.core frees a buffer other than its own with C.free.
                    guard let fresh = malloc(max(1, data.count))?.assumingMemoryBound(to: UInt8.self) else {
                        return ShdictStatus.error
                    }
                    stringBuffer?.pointee = fresh
                }
                if let target = stringBuffer?.pointee {
                    data.withUnsafeBufferPointer { source in
                        if let base = source.baseAddress { target.update(from: base, count: data.count) }
                    }
                }
                stringLength?.pointee = data.count
            case .number(let value):
                valueType?.pointee = 3
                number?.pointee = value
            case .boolean(let flag):
                valueType?.pointee = 1
                stringBuffer?.pointee?.pointee = flag ? 1 : 0
            }
            userFlags?.pointee = Int32(bitPattern: flags)
            if getStale != 0 { isStale?.pointee = stale ? 1 : 0 }
            return ShdictStatus.ok
        }
    }
}

@_cdecl("ngx_http_lua_ffi_shdict_incr")
public func ngx_http_lua_ffi_shdict_incr(
    _ zone: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int,
    _ value: UnsafeMutablePointer<Double>?, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ hasInit: Int32, _ initial: Double, _ initialTTL: Int, _ forcible: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guard let zone, let value else { return ShdictStatus.error }
    // The zone is the dict's unretained pointer (the process's dicts live as long as it does):
    // borrowed, not retained and released per call.
    return Unmanaged<SharedDict>.fromOpaque(zone)._withUnsafeGuaranteedRef { (dict: SharedDict) -> Int32 in
        forcible?.pointee = 0
        let bytes = keyBytes(key, keyLength)
        let delta = value.pointee
        let result = dict.withStore(now: SharedDict.cachedMilliseconds) {
            $0.incr(bytes, by: delta, initial: hasInit != 0 ? initial : nil, initialTTL: initialTTL, now: $1)
        }
        forcible?.pointee = result.forcible ? 1 : 0
        guard let sum = result.value else {
            err?.pointee = ShdictMessage.pointer(result.error ?? "not found")
            return ShdictStatus.error
        }
        value.pointee = sum
        return ShdictStatus.ok
    }
}

@_cdecl("ngx_http_lua_ffi_shdict_store")
public func ngx_http_lua_ffi_shdict_store(
    _ zone: UnsafeMutableRawPointer?, _ op: Int32, _ key: UnsafePointer<UInt8>?, _ keyLength: Int,
    _ valueType: Int32, _ stringBuffer: UnsafePointer<UInt8>?, _ stringLength: Int, _ number: Double,
    _ exptime: Int, _ userFlags: Int32, _ errmsg: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ forcible: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guard let zone else { return ShdictStatus.error }
    // The zone is the dict's unretained pointer (the process's dicts live as long as it does):
    // borrowed, not retained and released per call.
    return Unmanaged<SharedDict>.fromOpaque(zone)._withUnsafeGuaranteedRef { (dict: SharedDict) -> Int32 in
        forcible?.pointee = 0
        let value: SharedDictValue?
        switch valueType {
        case 4: value = .string(Array(keyBytes(stringBuffer, stringLength)))
        case 3: value = .number(number)
        case 1: value = .boolean(number != 0)
        case 0: value = nil
        default:
            errmsg?.pointee = ShdictMessage.pointer("unsupported value type")
            return ShdictStatus.error
        }
        let mode: SharedDictStore.StoreMode = op & 0x0002 != 0 ? .replace : op & 0x0001 != 0 ? .add : .set
        let bytes = keyBytes(key, keyLength)
        let result = dict.withStore(now: SharedDict.cachedMilliseconds) {
            $0.store(bytes, value, mode: mode, safe: op & 0x0004 != 0, exptime: exptime, flags: UInt32(bitPattern: userFlags), now: $1)
        }
        forcible?.pointee = result.forcible ? 1 : 0
        guard result.ok else {
            errmsg?.pointee = ShdictMessage.pointer(result.error ?? "no memory")
            return result.error == "exists" || result.error == "not found" ? ShdictStatus.declined : ShdictStatus.error
        }
        return ShdictStatus.ok
    }
}

@_cdecl("ngx_http_lua_ffi_shdict_flush_all")
public func ngx_http_lua_ffi_shdict_flush_all(_ zone: UnsafeMutableRawPointer?) -> Int32 {
    dict(zone)?.withStore(now: SharedDict.cachedMilliseconds) { $0.flushAll(now: $1) }
    return ShdictStatus.ok
}

@_cdecl("ngx_http_lua_ffi_shdict_get_ttl")
public func ngx_http_lua_ffi_shdict_get_ttl(_ zone: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int) -> Int {
    guard let zone else { return Int(ShdictStatus.declined) }
    // The zone is the dict's unretained pointer (the process's dicts live as long as it does):
    // borrowed, not retained and released per call.
    return Unmanaged<SharedDict>.fromOpaque(zone)._withUnsafeGuaranteedRef { (dict: SharedDict) -> Int in
        let bytes = keyBytes(key, keyLength)
        guard let ttl = dict.withStore(now: SharedDict.cachedMilliseconds, { $0.ttl(bytes, now: $1) }) else { return Int(ShdictStatus.declined) }
        return Int(ttl)
    }
}

@_cdecl("ngx_http_lua_ffi_shdict_set_expire")
public func ngx_http_lua_ffi_shdict_set_expire(
    _ zone: UnsafeMutableRawPointer?, _ key: UnsafePointer<UInt8>?, _ keyLength: Int, _ exptime: Int
) -> Int32 {
    guard let zone else { return ShdictStatus.declined }
    // The zone is the dict's unretained pointer (the process's dicts live as long as it does):
    // borrowed, not retained and released per call.
    return Unmanaged<SharedDict>.fromOpaque(zone)._withUnsafeGuaranteedRef { (dict: SharedDict) -> Int32 in
        let bytes = keyBytes(key, keyLength)
        return dict.withStore(now: SharedDict.cachedMilliseconds, { $0.setExpire(bytes, milliseconds: exptime, now: $1) }) ? ShdictStatus.ok : ShdictStatus.declined
    }
}

@_cdecl("ngx_http_lua_ffi_shdict_capacity")
public func ngx_http_lua_ffi_shdict_capacity(_ zone: UnsafeMutableRawPointer?) -> Int {
    dict(zone)?.size ?? 0
}

@_cdecl("ngx_http_lua_ffi_shdict_free_space")
public func ngx_http_lua_ffi_shdict_free_space(_ zone: UnsafeMutableRawPointer?) -> Int {
    dict(zone)?.withStore(now: SharedDict.cachedMilliseconds) { store, _ in store.freeSpace } ?? 0
}
