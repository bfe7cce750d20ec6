import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import CosocketServer

/// Cosockets inside the TLS handshake: `ssl_certificate_by_lua*` loading a certificate per SNI
/// name from a real `redis-server`, `ssl_session_fetch_by_lua*` / `ssl_session_store_by_lua*`
/// sharing sessions between two servers through Redis, `ssl_client_hello_by_lua*` refusing
/// names and choosing protocols, and the faults: clients that leave while a hook waits, Lua
/// errors in each hook, a certificate that does not match its key, random ClientHellos and
/// 1,000 half-open connections. The clients are lua-resty-core's `sslhandshake` in a second
/// server (hundreds of concurrent handshakes without hundreds of processes), curl and
/// `openssl s_client`.
@Suite(.serialized) struct HTTPSHookTests {
    static func cert(_ name: String) -> String { TLSCertificates.path(name) }

    /// Certificates for `n0.test.example` ... `n<count-1>.test.example`, each naming only its
    /// host, signed by the test CA over the server's key; the directory they are in.
    static let names: String = {
        let directory = NSTemporaryDirectory() + "cosocket-sni-\(getpid())"
        let script = """
            set -e; mkdir -p \(directory); cd \(directory)
            for i in $(seq 0 49); do
              printf 'basicConstraints=CA:FALSE\\nsubjectAltName=DNS:n%s.test.example\\n' $i > ext
              openssl req -new -key \(cert("server.key")) -subj /CN=n$i.test.example 2>/dev/null |
                openssl x509 -req -CA \(cert("ca.pem")) -CAkey \(cert("ca.key")) -CAcreateserial -days 30 -sha256 \
                  -extfile ext -out n$i.pem 2>/dev/null
            done
            """
        SpawnedProcess.runToEnd(["/bin/sh", "-c", script])
        return directory
    }()

    /// Sets `key` to `value` in Redis.
    static func redisSet(_ redis: ExternalServer, _ key: String, _ value: String) {
        let command = "*3\r\n$3\r\nSET\r\n$\(key.utf8.count)\r\n\(key)\r\n$\(value.utf8.count)\r\n\(value)\r\n"
        _ = redis.inspector().query(command, until: "\r\n")
    }

    /// A second server whose `/run` location runs `code` as a client of the HTTPS server.
    static func clientServer(_ code: String) throws -> TestServer {
        try TestServer(server: """
            location /run {
                lua_ssl_trusted_certificate \(cert("ca.pem"));
                lua_ssl_verify_depth 2;
                content_by_lua_block {
                    \(code)
                }
            }
            """)
    }

    /// Lua: one handshake with SNI `name` (verified against the CA and the name), a request,
    /// and `ok` when the answer names the server; else what went wrong.
    static let handshake = """
        local function handshake(port, name, verify)
            local sock = ngx.socket.tcp()
            sock:settimeout(10000)
            local ok, err = sock:connect("127.0.0.1", port)
            if not ok then return "connect: " .. err end
            local session, err = sock:sslhandshake(nil, name, verify ~= false)
            if not session then return "handshake: " .. err end
            sock:send("GET / HTTP/1.0\\r\\nHost: " .. name .. "\\r\\n\\r\\n")
            local body = sock:receive("*a") or ""
            sock:close()
            return body:match("\\r\\n\\r\\n(.*)$") or body
        end

        """

    /// The certificate hook: the default certificate for `localhost` and no name, else the
    /// name's PEM from Redis (or the slow server for `slow.test.example`) over a cosocket.
    static func certificateHook(redis: Int, slow: Int) -> String {
        """
        ssl_certificate_by_lua_block {
            local ssl = require "ngx.ssl"
            local name = ssl.server_name()
            if not name or name == "localhost" then return end
            local sock = ngx.socket.tcp()
            sock:settimeout(5000)
            assert(sock:connect("127.0.0.1", name == "slow.test.example" and \(slow) or \(redis)))
            assert(sock:send("GET cert:" .. name .. "\\r\\n"))
            local head = assert(sock:receive("*l"))
            if head == "$-1" then sock:close() return end
            local pem = assert(sock:receive(tonumber(head:sub(2))))
            assert(sock:receive(2))
            sock:setkeepalive()
            assert(ssl.clear_certs())
            assert(ssl.set_cert(assert(ssl.parse_pem_cert(pem))))
            assert(ssl.set_priv_key(assert(ssl.parse_pem_priv_key(KEY))))
        }
        """
    }

    static func httpsServer(http: String = "", _ server: String, body: String = "return 200 \"ok $ssl_server_name\";") throws -> TestServer {
        try TestServer("""
            worker_processes 1;
            events {}
            http {
            init_by_lua_block { local f = assert(io.open("\(cert("server.key"))")) KEY = f:read("*a") f:close() }
            ssl_protocols TLSv1.2 TLSv1.3;
            \(http)
            server {
                listen 127.0.0.1:@PORT@ ssl;
                server_name localhost;
                ssl_certificate \(cert("server.pem"));
                ssl_certificate_key \(cert("server.key"));
                \(server)
                location / { \(body) }
            }
            }
            """)
    }

    @Test func aCertificatePerNameFromRedis() throws {
        let redis = try ExternalServer(.redis)
        for index in 0..<50 {
            Self.redisSet(redis, "cert:n\(index).test.example", try String(contentsOfFile: Self.names + "/n\(index).pem", encoding: .utf8))
        }
        let slow = TestListener { fd in
            // A lookup that takes a second: the handshakes waiting on Redis go on meanwhile.
            var byte = [UInt8](repeating: 0, count: 256)
            _ = recv(fd, &byte, byte.count, 0)
            usleep(1_000_000)
            _ = send(fd, "$-1\r\n", 5, 0)
            usleep(200_000)
        }
        defer { slow.stop() }
        let https = try Self.httpsServer(Self.certificateHook(redis: redis.port, slow: slow.port))
        let client = try Self.clientServer(Self.handshake + """
            local threads, counts = {}, {}
            for i = 1, 200 do
                local name = "n" .. (i % 50) .. ".test.example"
                threads[i] = ngx.thread.spawn(function()
                    local answer = handshake(\(https.port), name)
                    return answer == "ok " .. name and "ok" or answer
                end)
            end
            for i = 1, 200 do
                local _, answer = ngx.thread.wait(threads[i])
                counts[answer] = (counts[answer] or 0) + 1
            end
            for answer, count in pairs(counts) do ngx.say(answer, " ", count) end
            """)
        // 200 concurrent handshakes for 50 names, each verified against its own name.
        #expect(client.get("/run").body == "ok 200\n", "\(client.log.lines)")
        // A name Redis has not: the server's own certificate, which does not name it.
        let unknown = HTTPSTests.sClient(https.port, "-servername nobody.test.example")
        #expect(unknown.contains("subject=CN = localhost"))
    }

    /// `ssl_certificate_by_lua*` at http level reaches every server (as the reference's code
    /// takes it, though its README says server), and a server with a hook and no certificate
    /// is refused as the reference refuses it.
    @Test func certificateHookAtHttpLevelAndServersWithoutSSL() throws {
        let https = try Self.httpsServer(http: """
            ssl_certificate_by_lua_block { ngx.log(ngx.ERR, "hooked for ", require("ngx.ssl").server_name()) }
            """, "")
        let answer = HTTPSTests.sClient(https.port, "-servername hooked.test")
        #expect(answer.contains("subject=CN = localhost"))
        #expect(https.log.waitFor("hooked for hooked.test"))
        for hook in ["ssl_certificate_by_lua_block { }", "ssl_client_hello_by_lua_block { }"] {
            let atServer = configurationError("""
                events {}
                http { server { listen 127.0.0.1:1; \(hook) } }
                """)
            #expect(atServer == "no ssl configured for the server", "\(hook)")
            let inherited = configurationError("""
                events {}
                http { \(hook) server { listen 127.0.0.1:1; } }
                """)
            #expect(inherited == "no ssl configured for the server", "\(hook)")
        }
        #expect(configurationError("""
            events {}
            http { ssl_certificate_by_lua_block { } ssl_certificate_by_lua_block { } }
            """)?.hasSuffix("is duplicate") == true)
    }

    @Test func aSlowLookupHoldsOnlyItsOwnHandshake() throws {
        let redis = try ExternalServer(.redis)
        Self.redisSet(redis, "cert:n1.test.example", try String(contentsOfFile: Self.names + "/n1.pem", encoding: .utf8))
        let slow = TestListener { fd in
            var byte = [UInt8](repeating: 0, count: 256)
            _ = recv(fd, &byte, byte.count, 0)
            usleep(1_000_000)
            _ = send(fd, "$-1\r\n", 5, 0)
            usleep(200_000)
        }
        defer { slow.stop() }
        let https = try Self.httpsServer(Self.certificateHook(redis: redis.port, slow: slow.port))
        let client = try Self.clientServer(Self.handshake + """
            ngx.update_time()
            local start = ngx.now()
            local function elapsed() ngx.update_time() return ngx.now() - start end
            local slow = ngx.thread.spawn(function()
                local answer = handshake(\(https.port), "slow.test.example", false)
                return answer, elapsed()
            end)
            ngx.sleep(0.1)
            local fast = {}
            for i = 1, 10 do fast[i] = handshake(\(https.port), "n1.test.example") end
            fast[11] = handshake(\(https.port), "localhost")
            local fastTime = elapsed()
            local _, slowAnswer, slowTime = ngx.thread.wait(slow)
            ngx.say(table.concat(fast, ","), " fast=", fastTime < 0.9, " slow=", slowAnswer, " ", slowTime >= 1)
            """)
        let expected = Array(repeating: "ok n1.test.example", count: 10).joined(separator: ",") + ",ok localhost"
        // The slow name gets the default certificate (not verified here) once its lookup ends.
        #expect(client.get("/run").body == expected + " fast=true slow=ok slow.test.example true\n")
    }

    /// Sessions made by one server resume on another: the store hook saves them in Redis
    /// through a timer (it cannot wait itself), the fetch hook loads them over a cosocket.
    @Test func sessionsSharedThroughRedisAcrossTwoServers() throws {
        let redis = try ExternalServer(.redis)
        let http = """
            ssl_session_store_by_lua_block {
                local session = require "ngx.ssl.session"
                local id = assert(session.get_session_id())
                local data = assert(session.get_serialized_session())
                local ok, err = pcall(ngx.sleep, 0.01)
                ngx.log(ngx.ERR, "store ", id, " sleep: ", err)
                assert(ngx.timer.at(0, function()
                    local sock = ngx.socket.tcp()
                    assert(sock:connect("127.0.0.1", \(redis.port)))
                    local key = "sess:" .. id
                    assert(sock:send("*3\\r\\n$3\\r\\nSET\\r\\n$" .. #key .. "\\r\\n" .. key .. "\\r\\n$" .. #data .. "\\r\\n" .. data .. "\\r\\n"))
                    assert(sock:receive("*l"))
                    sock:setkeepalive()
                end))
            }
            ssl_session_fetch_by_lua_block {
                local session = require "ngx.ssl.session"
                local id = assert(session.get_session_id())
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", \(redis.port)))
                assert(sock:send("GET sess:" .. id .. "\\r\\n"))
                local head = assert(sock:receive("*l"))
                if head == "$-1" then
                    ngx.log(ngx.ERR, "fetch ", id, " missing")
                else
                    local data = assert(sock:receive(tonumber(head:sub(2)) + 2)):sub(1, -3)
                    assert(session.set_serialized_session(data))
                    ngx.log(ngx.ERR, "fetch ", id, " found")
                end
                sock:setkeepalive()
            }
            """
        let body = "return 200 \"reused=$ssl_session_reused\";"
        let first = try Self.httpsServer(http: http, "ssl_session_tickets off;", body: body)
        let second = try Self.httpsServer(http: http, "ssl_session_tickets off;", body: body)
        let session = NSTemporaryDirectory() + "cosocket-hook-session-\(getpid())"
        defer { unlink(session) }
        let made = HTTPSTests.sClient(first.port, "-tls1_2 -no_ticket -sess_out \(session)")
        #expect(made.contains("reused=."))
        #expect(first.log.waitFor("sleep: API disabled in the context of ssl_session_store_by_lua*"))
        // The timer's SET is done once Redis answers the key.
        #expect(waitUntil { redis.inspector().query("KEYS sess:*\r\n", until: "\r\n").hasPrefix("*1") })
        let resumed = HTTPSTests.sClient(second.port, "-tls1_2 -no_ticket -sess_in \(session)")
        #expect(resumed.contains("Reused, TLSv1.2") && resumed.contains("reused=r"))
        #expect(second.log.contains("found"))
        // A session ID nobody stored: a full handshake.
        let other = HTTPSTests.sClient(second.port, "-tls1_2 -no_ticket")
        #expect(other.contains("reused=."))
    }

    @Test func clientHelloRefusesNamesAndChoosesProtocols() throws {
        let https = try Self.httpsServer("""
            ssl_client_hello_by_lua_block {
                local hello = require "ngx.ssl.clienthello"
                local name, err = hello.get_client_hello_server_name()
                ngx.log(ngx.ERR, "hello: ", name, " ", err, " ", ngx.get_phase(),
                    " ext0=", hello.get_client_hello_ext(0) ~= nil, " ext999=", hello.get_client_hello_ext(999))
                ngx.sleep(0.01)
                if name == "refused.test.example" then return ngx.exit(ngx.ERROR) end
                if name == "old.test.example" then assert(hello.set_protocols({"TLSv1.2"})) end
                local ok, err = hello.set_protocols({"TLSv9"})
                assert(not ok and err == "invalid protocols failed")
            }
            """, body: "return 200 \"$ssl_protocol $ssl_server_name\";")
        #expect(HTTPSTests.curl(https.port, host: "localhost") == "TLSv1.3 localhost")
        #expect(HTTPSTests.curl(https.port, host: "old.test.example", "-k") == "TLSv1.2 old.test.example")
        #expect(HTTPSTests.curl(https.port, host: "refused.test.example", "-k").contains("curl: (35)"))
        #expect(https.log.contains("hello: refused.test.example nil ssl_client_hello ext0=true ext999=nil"))
        // Without SNI: no name, and no error.
        #expect(HTTPSTests.sClient(https.port, "-noservername").contains("TLSv1.3 "))
        #expect(https.log.contains("hello: nil nil ssl_client_hello ext0=false"))
    }

    /// A client that leaves while the certificate hook waits on a cosocket: the hook's code
    /// ends (its socket closes at once, nothing after the wait runs) and the worker goes on.
    @Test func aClientThatLeavesEndsTheWaitingHook() throws {
        let closed = ClosedFlag()
        let mute = TestListener { fd in
            // Never answers; notes when the hook's socket closes.
            var byte = [UInt8](repeating: 0, count: 256)
            while recv(fd, &byte, byte.count, 0) > 0 {}
            closed.set()
        }
        defer { mute.stop() }
        let https = try Self.httpsServer("""
            ssl_certificate_by_lua_block {
                local sock = ngx.socket.tcp()
                sock:settimeout(30000)
                assert(sock:connect("127.0.0.1", \(mute.port)))
                assert(sock:send("hello\\n"))
                ngx.log(ngx.ERR, "hook waits")
                local line, err = sock:receive("*l")
                ngx.log(ngx.ERR, "hook went on: ", err)
            }
            """)
        let start = Date()
        _ = HTTPSTests.run("timeout 1 openssl s_client -connect 127.0.0.1:\(https.port) -servername localhost </dev/null")
        #expect(https.log.contains("hook waits"))
        #expect(waitUntil(seconds: 10) { closed.isSet })
        #expect(Date().timeIntervalSince(start) < 10)
        usleep(100_000)
        #expect(!https.log.contains("hook went on"))
    }

    /// A Lua error in each hook: the client-hello and certificate hooks abort the handshake
    /// (logged as the reference logs an aborted entry thread); a failed fetch is a full
    /// handshake and a failed store changes nothing the client sees. A certificate that does not
    /// match its key is refused. The worker serves the next client each time.
    @Test func luaErrorsInEachHook() throws {
        let failing = try Self.httpsServer(http: """
            ssl_session_fetch_by_lua_block { error("fetch fails") }
            ssl_session_store_by_lua_block { error("store fails") }
            """, """
            ssl_client_hello_by_lua_block {
                if require("ngx.ssl.clienthello").get_client_hello_server_name() == "hello.test.example" then error("hello fails") end
            }
            ssl_certificate_by_lua_block {
                local ssl = require "ngx.ssl"
                local name = ssl.server_name()
                if name == "cert.test.example" then error("cert fails") end
                if name == "mismatch.test.example" then
                    local f = assert(io.open("\(Self.cert("a.pem"))")) local pem = f:read("*a") f:close()
                    assert(ssl.clear_certs())
                    assert(ssl.set_der_cert(assert(ssl.cert_pem_to_der(pem))))
                    local ok, err = ssl.set_der_priv_key(assert(ssl.priv_key_pem_to_der(KEY)))
                    ngx.log(ngx.ERR, "mismatch: ", ok, " ", err)
                    if not ok then return ngx.exit(ngx.ERROR) end
                end
            }
            """)
        #expect(HTTPSTests.curl(failing.port, host: "hello.test.example", "-k").contains("curl: (35)"))
        #expect(failing.log.waitFor("hello fails"))
        #expect(HTTPSTests.curl(failing.port, host: "cert.test.example", "-k").contains("curl: (35)"))
        #expect(failing.log.waitFor("cert fails"))
        #expect(failing.log.contains("lua entry thread aborted: runtime error: ssl_certificate_by_lua"))
        #expect(HTTPSTests.curl(failing.port, host: "mismatch.test.example", "-k").contains("curl: (35)"))
        #expect(failing.log.waitFor("mismatch: nil SSL_use_PrivateKey() failed"))
        // Fetch and store fail; the handshake itself goes on.
        #expect(HTTPSTests.sClient(failing.port, "-tls1_2 -no_ticket").contains("Protocol  : TLSv1.2"))
        #expect(failing.log.waitFor("store fails"))
        #expect(failing.log.waitFor("fetch fails"))
        #expect(HTTPSTests.curl(failing.port) == "ok localhost")
    }

    /// ClientHellos of random bytes and 1,000 half-open connections, with hooks on the
    /// address: the hooks never run for them, and a real client is served meanwhile.
    @Test func randomHellosAndHalfOpenConnections() throws {
        let https = try Self.httpsServer("""
            ssl_client_hello_by_lua_block { ngx.log(ngx.ERR, "hello hook ran") }
            ssl_certificate_by_lua_block { ngx.log(ngx.ERR, "cert hook ran") }
            """)
        var generator = SplitMix(seed: 23)
        for _ in 0..<20 {
            let client = HTTPClient(port: https.port)
            let body = (0..<251).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            ScriptedListener.write(client.fd, [0x16, 0x03, 0x01, 0x00, 0xFF, 0x01, 0x00, 0x00, 0xFB] + body)
            #expect(HTTPSTests.closedByServer(client.fd))
            client.close()
        }
        #expect(!https.log.contains("hook ran"))
        var halfOpen: [HTTPClient] = []
        for index in 0..<1000 {
            let client = HTTPClient(port: https.port)
            if index % 2 == 0 { client.send("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}") }
            halfOpen.append(client)
        }
        let start = Date()
        #expect(HTTPSTests.curl(https.port) == "ok localhost")
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(https.log.count(of: "hello hook ran") == 1 && https.log.count(of: "cert hook ran") == 1)
        for client in halfOpen { client.close() }
        #expect(HTTPSTests.curl(https.port) == "ok localhost")
    }
}

/// Set once from a listener's thread, read by the test.
final class ClosedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
