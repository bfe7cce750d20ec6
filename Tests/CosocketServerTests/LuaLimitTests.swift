import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bad code in a handler: errors, memory exhaustion, a coroutine bomb, 100,000 light threads
/// and a million timers. Each ends its own request at worst; the worker serves the next one.
/// An infinite loop is not here: nothing cuts it, in the reference or here (docs/reliability.md).
@Suite struct LuaLimitTests {
    static let configuration = """
        location = /ok { return 200 "ok"; }
        location = /error { content_by_lua_block { local t = nil; ngx.say(t.field) } }
        location = /threads {
            content_by_lua_block {
                local threads = {}
                for i = 1, 100000 do threads[i] = ngx.thread.spawn(function(n) return n end, i) end
                local sum = 0
                for i = 1, #threads do local ok, n = ngx.thread.wait(threads[i]) if ok then sum = sum + n end end
                ngx.say(#threads, " ", sum)
            }
        }
        location = /timers {
            content_by_lua_block {
                local created, first, err = 0, nil, nil
                for i = 1, 1000000 do
                    local ok, e = ngx.timer.at(0.3, function() end)
                    if ok then created = created + 1 elseif not first then first, err = i, e end
                end
                ngx.say(created, " ", first, " ", err, " ", ngx.timer.pending_count())
            }
        }
        location = /bomb {
            content_by_lua_block {
                local depth = 0
                local function nest(n) depth = n return coroutine.wrap(function() return nest(n + 1)() end) end
                ngx.say(pcall(function() return nest(0)() end), " ", depth)
            }
        }
        location = /timer-after { content_by_lua_block { ngx.say(ngx.timer.at(0, function() end)) } }
        """

    @Test func aLuaErrorIs500AndTheWorkerGoesOn() throws {
        let server = try TestServer(server: Self.configuration)
        for _ in 0..<3 {
            #expect(server.get("/error").status == 500)
            #expect(server.get("/ok").body == "ok")
        }
        #expect(server.log.waitFor("attempt to index local 't' (a nil value)"))
    }

    /// Regression: a coroutine.wrap recursion overflowed the worker thread's stack (a
    /// segfault); resumes nested deeper than 180 now fail as LuaJIT fails deep C calls.
    @Test func aCoroutineDepthBombIsRefused() throws {
        let server = try TestServer(server: Self.configuration)
        #expect(server.get("/bomb").body == "false 180\n")
        #expect(server.get("/ok").body == "ok")
    }

    @Test func oneHundredThousandLightThreads() throws {
        let server = try TestServer(server: Self.configuration)
        #expect(server.get("/threads").body == "100000 5000050000\n")
        #expect(server.get("/ok").body == "ok")
    }

    @Test func aMillionTimersMeetTheirLimit() throws {
        // The reference's default lua_max_pending_timers: 1024.
        let server = try TestServer(server: Self.configuration)
        #expect(server.get("/timers").body == "1024 1025 too many pending timers 1024\n")
        #expect(server.get("/ok").body == "ok")
        // Once they fired, timers can be created again.
        #expect(waitUntil(seconds: 5) { server.get("/timer-after").body == "1\n" })
    }

    /// A handler that allocates until LuaJIT fails, and a coroutine.wrap recursion, in a
    /// server process whose address space is capped (RLIMIT_AS 3 GB, so that the machine's
    /// memory is not what runs out). The reference logs "memory allocation error" and its
    /// worker aborts (a master would start another); ours answers 500 with "not enough
    /// memory" in the log, the VM stays usable, and the process serves the next requests,
    /// also while a global holds all the VM's memory.
    @Test func memoryExhaustionAndACoroutineBombDoNotEndTheProcess() throws {
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let reservation = PortReservation()
        let port = reservation.port
        reservation.release()
        writeFile(prefix + "/conf/nginx.conf", """
            daemon off; master_process off; worker_processes 1; error_log logs/error.log;
            events {}
            http { server { listen 127.0.0.1:\(port);
                location = /ok { return 200 "ok"; }
                location = /hog { content_by_lua_block { local t = {} for i = 1, 1e12 do t[i] = string.rep("x", 1048576) .. i end } }
                location = /leak { content_by_lua_block { LEAK = LEAK or {} for i = 1, 1e12 do LEAK[#LEAK + 1] = {i} end } }
                location = /lua { content_by_lua_block { ngx.say("lua ", LEAK and "held" or "free") } }
                location = /bomb { content_by_lua_block {
                    local function nest(n) return coroutine.wrap(function() return nest(n + 1)() end) end
                    local ok, err = pcall(function() return nest(0)() end)
                    ngx.say(ok)
                } }
            } }
            """)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -v 3000000; exec \"$0\" -p \"$1\" -c conf/nginx.conf 2>/dev/null", CommandLineTests.executable, prefix]
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let client = { (path: String) -> HTTPResponse in
            let connection = HTTPClient(port: port, timeoutSeconds: 60)
            defer { connection.close() }
            connection.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return connection.readResponse() ?? .none
        }
        #expect(waitUntil(seconds: 10) { client("/ok").body == "ok" })
        for _ in 0..<2 {
            #expect(client("/hog").status == 500)
            #expect(client("/ok").body == "ok")
            #expect(client("/bomb").body == "false\n")
            #expect(client("/ok").body == "ok")
        }
        // Memory held by a global (a leak in the handler's code): the VM stays full, so the
        // next allocations outside a running handler fail too (a new thread, a traceback),
        // where LuaJIT's panic used to end the process.
        #expect(client("/leak").status == 500)
        #expect(client("/ok").body == "ok")
        for _ in 0..<3 { #expect([200, 500].contains(client("/lua").status)) }
        #expect(client("/ok").body == "ok")
        #expect(process.isRunning)
        let log = (try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? ""
        #expect(log.contains("not enough memory"))
    }
}
