import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// No Lua value can stop the process: `Tests/lua/sweep/hostile_ngx_api.lua` calls every
/// function under `ngx` (two levels), of the `ngx.*` modules and of the objects they hand out
/// (sockets, the receiveuntil iterator, a shared dict, a semaphore) with NaN, ±inf, ±1e300,
/// 2^63, numeric strings of those, a 1 MiB string, tables whose metamethods raise, userdata,
/// functions and coroutines in each of the first three argument positions, each call in a
/// timer of its own. The socket methods' answers are checked against the reference by the
/// corpus (`hostile_socket_args`); this checks that the process lives and that the calls end.
@Suite struct HostileArgumentSweepTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyNgxFunctionWithHostileArgumentsLeavesTheProcessAlive() throws {
        let echo = TestListener { fd in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                _ = write(fd, buffer, n)
            }
        }
        defer { echo.stop() }
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let child = try CommandLineTests.Child(
            [
                "run", "--http", "lua_shared_dict sweep 1m;", "--http", "lua_max_pending_timers 100000;",
                "--http", "lua_max_running_timers 100000;",
                // Hostile values reach connect and setpeername as host names: with the
                // system resolver they would be asked of the machine's nameservers, which no
                // test may do. Off, they fail at once as the reference fails them.
                "--http", "lua_system_resolver off;",
                Self.root.appendingPathComponent("Tests/lua/sweep/hostile_ngx_api.lua").path, String(echo.port),
            ],
            stderrPath: prefix + "/stderr"
        )
        defer { child.kill() }
        let status = child.wait(seconds: 120)
        #expect(status == 0, "exit status \(String(describing: status)) (128 + n: killed by signal n)")
        let done = child.stderr.split(separator: "\n").last { $0.contains("SWEEP-DONE") }.map(String.init) ?? ""
        let figures = Dictionary(uniqueKeysWithValues: done.split(separator: " ").compactMap { field -> (String, Int)? in
            let parts = field.split(separator: "=")
            guard parts.count == 2, let value = Int(parts[1]) else { return nil }
            return (String(parts[0]), value)
        })
        let targets = figures["targets"] ?? 0, started = figures["started"] ?? 0, finished = figures["finished"] ?? 0
        #expect(targets >= 120, "\(done)")
        #expect(started == targets * 3 * (figures["values"] ?? 0) && started > 0, "\(done)")
        // Only calls that end their timer (ngx.exit) or wait for good (a semaphore with a huge
        // timeout) do not come back.
        #expect(started - finished < 200, "\(done)")
    }
}
