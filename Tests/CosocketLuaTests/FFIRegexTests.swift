import Testing

@testable import CosocketLua

/// The regex FFI seam: struct layouts as resty/core/regex.lua's `ffi.cdef` declares them
/// (x86-64/arm64 LP64 offsets), and a compile/exec/template round trip through the exports.
/// The corpus runs whole through lua-resty-core over these (scripts/test, `--prelude`).
@Suite struct FFIRegexTests {
    @Test func layoutsMatchTheCDefinitions() {
        #expect(MemoryLayout<NgxStr>.size == 16)
        #expect(MemoryLayout<FFIComplexValue>.size == 32)
        #expect(MemoryLayout<FFIComplexValue>.offset(of: \.lengths) == 16)
        #expect(MemoryLayout<FFIRegexHandle>.size == 72)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.nameTable) == 8)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.nameCount) == 16)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.nameEntrySize) == 20)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.ncaptures) == 24)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.captures) == 32)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.replace) == 56)
        #expect(MemoryLayout<FFIRegexHandle>.offset(of: \.pattern) == 64)
    }

    @Test func compileExecAndTemplate() throws {
        let pattern = Array("(?<word>[a-z]+)([0-9])?".utf8)
        var error = [UInt8](repeating: 0, count: 128)
        let raw = try #require(ngx_http_lua_ffi_compile_regex(pattern, pattern.count, 0x04, 0x01, &error, error.count))
        defer { ngx_http_lua_ffi_destroy_regex(raw) }
        let handle = raw.assumingMemoryBound(to: FFIRegexHandle.self).pointee
        #expect(handle.ncaptures == 2 && handle.nameCount == 1)
        let entry = try #require(handle.nameTable)
        #expect(entry[0] == 0 && entry[1] == 1 && String(cString: entry + 2) == "word")
        let subject = Array("12ABc".utf8)
        #expect(ngx_http_lua_ffi_exec_regex(raw, 0x04, subject, subject.count, 0) == 2)  // caseless
        let captures = try #require(handle.captures)
        #expect((captures[0], captures[1], captures[2], captures[3], captures[4], captures[5]) == (2, 5, 2, 5, -1, -1))

        let template = Array("<$1|$2|$$>".utf8)
        #expect(ngx_http_lua_ffi_compile_replace_template(raw, template, template.count) == FFIStatus.ok)
        let value = try #require(raw.assumingMemoryBound(to: FFIRegexHandle.self).pointee.replace)
        #expect(value.pointee.lengths != nil)
        let engine = try #require(ngx_http_lua_ffi_create_script_engine())
        defer { ngx_http_lua_ffi_destroy_script_engine(engine) }
        subject.withUnsafeBufferPointer { ngx_http_lua_ffi_init_script_engine(engine, $0.baseAddress, raw, 2) }
        let length = ngx_http_lua_ffi_script_eval_len(engine, UnsafeMutableRawPointer(value))
        var output = [UInt8](repeating: 0, count: length)
        _ = ngx_http_lua_ffi_script_eval_data(engine, UnsafeMutableRawPointer(value), &output)
        #expect(String(decoding: output, as: UTF8.self) == "<ABc||$>")
        #expect(ngx_http_lua_ffi_compile_replace_template(raw, Array("$x".utf8), 2) == FFIStatus.error)
    }

    @Test func compileFailureFillsTheBuffer() {
        let pattern = Array("(".utf8)
        var error = [UInt8](repeating: 0xFF, count: 16)
        #expect(ngx_http_lua_ffi_compile_regex(pattern, pattern.count, 0, 0, &error, error.count) == nil)
        #expect(String(cString: error) == "pcre2_compile()")  // cut to the buffer, NUL-terminated
        #expect(String(cString: ngx_http_lua_ffi_pcre_version()!).hasPrefix("10."))
    }
}
