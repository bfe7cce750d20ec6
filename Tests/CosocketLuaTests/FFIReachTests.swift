import CosocketCore
import Foundation
import Testing

@testable import CosocketLua

/// What lua-resty-string (Debian's lua-nginx-string) and lua-resty-mysql's `resty.sha256`
/// reach through `ffi.C`: nginx's `ngx_hex_dump` and `ngx_atoi`, exported by this binary, and
/// libcrypto's digests, ciphers and `RAND_bytes`, linked into it. Vectors from Python's
/// hashlib and `openssl enc`, run by the tests.
@Suite struct FFIReachTests {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Runs a command and returns its standard output without the final newline.
    private func run(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        stdin.fileHandleForWriting.closeFile()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    @Test func hexDumpWritesLowerCaseHexAndReturnsItsEnd() {
        let source: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        var destination = [UInt8](repeating: 0x2e, count: 14)
        let end = destination.withUnsafeMutableBufferPointer { out in
            source.withUnsafeBufferPointer { ngx_hex_dump(out.baseAddress, $0.baseAddress, $0.count) }.map { $0 - out.baseAddress! }
        }
        #expect(end == 12)
        #expect(String(decoding: destination, as: UTF8.self) == "00017f80abff..")
        var untouched: [UInt8] = [0x2e]
        let same = untouched.withUnsafeMutableBufferPointer { out in ngx_hex_dump(out.baseAddress, nil, 0) == out.baseAddress }
        #expect(same && untouched == [0x2e])
    }

    @Test func atoiReadsDigitsAndAnswersNgxErrorForAnythingElse() {
        func atoi(_ text: String) -> Int { Array(text.utf8).withUnsafeBufferPointer { ngx_atoi($0.baseAddress, $0.count) } }
        #expect(atoi("0") == 0)
        #expect(atoi("12345") == 12345)
        #expect(atoi("007") == 7)
        #expect(atoi("9223372036854775807") == Int.max)
        for bad in ["", "-1", "+1", "12a", " 1", "1 ", "9223372036854775808", "99999999999999999999"] {
            #expect(atoi(bad) == -1, "ngx_atoi(\(bad))")
        }
        #expect(ngx_atoi(nil, 3) == -1)
    }

    @Test func digestsAndHMACMatchPythonHashlib() throws {
        let inputs = ["", "abc", "The quick brown fox jumps over the lazy dog", String(repeating: "a", count: 1000)]
        for input in inputs {
            let python = try run(["python3", "-c", """
                import hashlib, hmac, sys
                s = sys.stdin.buffer.read()
                print(hashlib.md5(s).hexdigest(), hashlib.sha1(s).hexdigest(), hmac.new(b"key", s, "sha1").hexdigest())
                """], input: input)
            let bytes = Array(input.utf8)
            #expect(python == [hex(NgxCodec.md5(bytes)), hex(NgxCodec.sha1(bytes)), hex(NgxCodec.hmacSHA1(key: Array("key".utf8), message: bytes))]
                .joined(separator: " "), "\(input.prefix(10))")
            #expect(String(decoding: NgxCodec.md5Hex(bytes), as: UTF8.self) == python.split(separator: " ").first.map(String.init))
        }
        // A key longer than the block is hashed first (RFC 2104).
        let long = [UInt8](repeating: 0x6b, count: 100)
        let expected = try run(["python3", "-c", "import hmac; print(hmac.new(b'k' * 100, b'x', 'sha1').hexdigest())"])
        #expect(hex(NgxCodec.hmacSHA1(key: long, message: Array("x".utf8))) == expected)
    }

    /// Every VM starts with lua-resty-core loaded (the test bundle exports our C functions as
    /// the `cosocket` executable does).
    @Test func restyCoreIsLoadedAtStart() throws {
        let (output, _) = try LuaRun.run("""
            ngx.print(type(package.loaded["resty.core"]), " ", debug.getinfo(ngx.now, "S").source, " ", ngx.http_time(1290079655))
            """, configuration: EngineConfiguration())
        #expect(output == "table @/usr/share/lua/5.1/resty/core/time.lua Thu, 18 Nov 2010 11:27:35 GMT")
    }

    /// lua-resty-string's modules, unchanged, through ffi.C in one of our VMs.
    @Test func restyStringThroughTheFFI() throws {
        let lua = """
            local str = require "nginx.string"
            local out = {}
            local function put(s) out[#out + 1] = s end
            put(str.to_hex("\\0\\1\\127\\128\\255"))
            put(tostring(str.atoi("4096")) .. " " .. tostring(str.atoi("40x")))
            for _, name in ipairs({ "md5", "sha1", "sha224", "sha256", "sha384", "sha512" }) do
                local h = require("nginx." .. name):new()
                h:update("The quick brown fox ")
                h:update("jumps over the lazy dog")
                put(str.to_hex(h:final()))
            end
            local aes = require "nginx.aes"
            local cipher = assert(aes:new("0123456789abcdef", nil, aes.cipher(128, "cbc"), { iv = "1234567890123456" }))
            local sealed = cipher:encrypt("attack at dawn")
            put(str.to_hex(sealed) .. " " .. cipher:decrypt(sealed))
            local random = require "nginx.random"
            put(#random.bytes(24) .. " " .. tostring(random.bytes(16) ~= random.bytes(16)))
            ngx.print(table.concat(out, "\\n"))
            """
        let (output, _) = try LuaRun.run(lua, configuration: EngineConfiguration())
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 10)
        guard lines.count == 10 else { return }
        #expect(lines[0] == "00017f80ff")
        #expect(lines[1] == "4096 -1")
        let digests = try run(["python3", "-c", """
            import hashlib
            s = b"The quick brown fox jumps over the lazy dog"
            for n in ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]: print(hashlib.new(n, s).hexdigest())
            """]).split(separator: "\n").map(String.init)
        #expect(Array(lines[2..<8]) == digests)
        let sealed = try run(["sh", "-c", "printf 'attack at dawn' | openssl enc -aes-128-cbc -K 30313233343536373839616263646566 -iv 31323334353637383930313233343536 | od -An -tx1 | tr -d ' \\n'"])
        #expect(lines[8] == sealed + " attack at dawn")
        #expect(lines[9] == "24 true")
    }
}
