import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import CosocketLua

/// The `ngx_http_lua_ffi_shdict_*` C ABI, called as resty/core/shdict.lua calls it.
@Suite struct FFIShdictTests {
    static func withZone(_ size: Int = 1 << 20, _ body: (UnsafeMutableRawPointer) -> Void) {
        let dict = SharedDict(name: "d", size: size)!
        var payload = SharedDictZone(dict)
        withUnsafeMutableBytes(of: &payload) { raw in
            let zone = ngx_http_lua_ffi_shdict_udata_to_zone(raw.baseAddress)
            #expect(zone != nil)
            if let zone { body(zone) }
        }
        withExtendedLifetime(dict) {}
    }

    static func store(_ zone: UnsafeMutableRawPointer, _ key: String, op: Int32 = 0, string: String? = nil, number: Double = 0,
                      type: Int32 = 4, exptime: Int = 0, flags: Int32 = 0) -> (Int32, String?, Int32) {
        var message: UnsafeMutablePointer<CChar>?
        var forcible: Int32 = 7
        let key = Array(key.utf8)
        let value = Array((string ?? "").utf8)
        let rc = value.withUnsafeBufferPointer { v in
            ngx_http_lua_ffi_shdict_store(zone, op, key, key.count, type, v.baseAddress, v.count, number, exptime, flags, &message, &forcible)
        }
        return (rc, message.map { String(cString: $0) }, forcible)
    }

    static func get(_ zone: UnsafeMutableRawPointer, _ key: String, stale: Bool = false, bufferSize: Int = 8)
        -> (rc: Int32, type: Int32, string: [UInt8], number: Double, flags: Int32, stale: Int32, error: String?)
    {
        let key = Array(key.utf8)
        let own = UnsafeMutablePointer<UInt8>.allocate(capacity: bufferSize)
        defer { own.deallocate() }
        var buffer: UnsafeMutablePointer<UInt8>? = own
        var length = bufferSize
        var type: Int32 = -1, flags: Int32 = 0, isStale: Int32 = 0
        var number = 0.0
        var message: UnsafeMutablePointer<CChar>?
        let rc = ngx_http_lua_ffi_shdict_get(zone, key, key.count, &type, &buffer, &length, &number, &flags, stale ? 1 : 0, &isStale, &message)
        var bytes: [UInt8] = []
        if rc == 0, type == 4, let buffer {
            bytes = Array(UnsafeBufferPointer(start: buffer, count: length))
            if buffer != own { free(buffer) }  // as resty.core does with C.free
        }
        if rc == 0, type == 1, let buffer { bytes = [buffer[0]] }
        return (rc, type, bytes, number, flags, isStale, message.map { String(cString: $0) })
    }

    @Test func forgedUserdataIsNoZone() {
        var bytes = [UInt8](repeating: 0x41, count: 16)
        #expect(bytes.withUnsafeMutableBytes { ngx_http_lua_ffi_shdict_udata_to_zone($0.baseAddress) } == nil)
        #expect(ngx_http_lua_ffi_shdict_udata_to_zone(nil) == nil)
    }

    @Test func storeGetEveryTypeFlagsAndLongStrings() {
        Self.withZone { zone in
            #expect(Self.store(zone, "s", string: "hello", flags: 7) == (0, nil, 0))
            let s = Self.get(zone, "s")
            #expect(s.rc == 0 && s.type == 4 && s.string == Array("hello".utf8) && s.flags == 7)
            let long = String(repeating: "x", count: 5000)
            #expect(Self.store(zone, "long", string: long).0 == 0)
            #expect(Self.get(zone, "long").string.count == 5000)  // beyond the caller's buffer: malloc'd
            #expect(Self.store(zone, "n", number: 2.5, type: 3).0 == 0)
            #expect(Self.get(zone, "n").number == 2.5)
            #expect(Self.store(zone, "b", number: 1, type: 1).0 == 0)
            #expect(Self.get(zone, "b").string == [1])
            #expect(Self.get(zone, "missing").type == 0)
            #expect(Self.store(zone, "s", op: 1, string: "x") == (-5, "exists", 0))
            #expect(Self.store(zone, "none", op: 2, string: "x") == (-5, "not found", 0))
            #expect(Self.store(zone, "s", op: 1, type: 0).1 == "attempt to add or replace nil values")
            #expect(Self.store(zone, "s", type: 9).1 == "unsupported value type")
            #expect(Self.store(zone, "s", type: 0).0 == 0)
            #expect(Self.get(zone, "s").type == 0)
        }
    }

    @Test func incrTTLExpireCapacityAndFlush() {
        Self.withZone { zone in
            let key = Array("c".utf8)
            var value = 1.0
            var message: UnsafeMutablePointer<CChar>?
            var forcible: Int32 = 0
            #expect(ngx_http_lua_ffi_shdict_incr(zone, key, 1, &value, &message, 0, 0, 0, &forcible) == -1)
            #expect(message.map { String(cString: $0) } == "not found")
            #expect(ngx_http_lua_ffi_shdict_incr(zone, key, 1, &value, &message, 1, 10, 60_000, &forcible) == 0)
            #expect(value == 11)
            let ttl = ngx_http_lua_ffi_shdict_get_ttl(zone, key, 1)
            #expect(ttl > 59_000 && ttl <= 60_000)
            #expect(ngx_http_lua_ffi_shdict_set_expire(zone, key, 1, 0) == 0)
            #expect(ngx_http_lua_ffi_shdict_get_ttl(zone, key, 1) == 0)
            #expect(ngx_http_lua_ffi_shdict_get_ttl(zone, Array("x".utf8), 1) == -5)
            #expect(ngx_http_lua_ffi_shdict_set_expire(zone, Array("x".utf8), 1, 5) == -5)
            #expect(ngx_http_lua_ffi_shdict_capacity(zone) == 1 << 20)
            #expect(ngx_http_lua_ffi_shdict_free_space(zone) == 1_032_192)
            #expect(ngx_http_lua_ffi_shdict_flush_all(zone) == 0)
            #expect(Self.get(zone, "c").type == 0)
            #expect(Self.get(zone, "c", stale: true).type == 0)  // flush_all also frees the oldest
        }
    }

    @Test func fullZoneEvictsWithForcibleAndSafeStoresRefuse() {
        Self.withZone(20 * 1024) { zone in
            let value = String(repeating: "v", count: 100)
            for index in 0..<32 { #expect(Self.store(zone, "key\(index)", string: value) == (0, nil, 0)) }
            #expect(Self.store(zone, "safe", op: 4, string: value) == (-1, "no memory", 0))
            #expect(Self.store(zone, "new", string: value) == (0, nil, 1))
        }
    }
}
