import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `cosocket` executable as a subprocess, as nginx is driven: -t, serving, -s reload, -s quit.
@Suite(.serialized) struct CommandLineTests {
    static let executable = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/cosocket").path

    /// A child process with stderr in a file; killed (SIGKILL) and reaped by `kill()`.
    final class Child {
        var pid: pid_t = 0
        let stderrPath: String

        init(_ arguments: [String], stderrPath: String) throws {
            self.stderrPath = stderrPath
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let all = [CommandLineTests.executable] + arguments
            var argv: [UnsafeMutablePointer<CChar>?] = all.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            guard posix_spawn(&pid, all[0], &actions, nil, &argv, environ) == 0 else { throw CocoaError(.executableLoad) }
        }

        /// The exit status once the process has ended, or nil after `seconds`.
        func wait(seconds: Double = 20) -> Int32? {
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let result = waitpid(pid, &status, WNOHANG)
                if result == pid {
                    pid = 0
                    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                }
                usleep(20_000)
            }
            return nil
        }

        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        func kill() {
            guard pid > 0 else { return }
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            pid = 0
        }

        deinit { kill() }
    }

    static func run(_ arguments: [String], prefix: String) throws -> (status: Int32?, stderr: String) {
        let child = try Child(arguments, stderrPath: prefix + "/stderr-\(UUID().uuidString)")
        defer { child.kill() }
        let status = child.wait()
        return (status, child.stderr)
    }

    static func configuration(port: Int, answer: String) -> String {
        """
        worker_processes 1;
        error_log logs/error.log info;
        pid logs/nginx.pid;
        events {}
        http {
            server {
                listen 127.0.0.1:\(port);
                location / { content_by_lua_block { ngx.print("\(answer)") } }
            }
        }
        """
    }

    @Test func checkServeReloadAndQuit() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable), "build the cosocket product first")
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let port = freePort()
        writeFile(prefix + "/conf/nginx.conf", Self.configuration(port: port, answer: "first"))

        // -t: a good configuration.
        let good = try Self.run(["-p", prefix, "-c", "conf/nginx.conf", "-t"], prefix: prefix)
        #expect(good.status == 0)
        #expect(good.stderr.contains("test is successful"))
        // -t: a bad one names file and line.
        writeFile(prefix + "/conf/bad.conf", "events {}\nhttp {\n    bogus_directive 1;\n}\n")
        let bad = try Self.run(["-p", prefix, "-c", "conf/bad.conf", "-t"], prefix: prefix)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("unknown directive \"bogus_directive\" in \(prefix)/conf/bad.conf:3"))

        // Serve.
        let server = try Child(["-p", prefix, "-c", "conf/nginx.conf"], stderrPath: prefix + "/serve-stderr")
        defer { server.kill() }
        #expect(waitUntil(seconds: 15) { canConnect(port: port) }, "\(server.stderr)")
        #expect(waitUntil { FileManager.default.fileExists(atPath: prefix + "/logs/nginx.pid") })
        let client = { () -> String in
            let connection = HTTPClient(port: port, timeoutSeconds: 5)
            defer { connection.close() }
            connection.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return connection.readResponse()?.body ?? ""
        }
        #expect(client() == "first")

        // Edit the configuration, then -s reload.
        writeFile(prefix + "/conf/nginx.conf", Self.configuration(port: port, answer: "second"))
        let reload = try Self.run(["-p", prefix, "-c", "conf/nginx.conf", "-s", "reload"], prefix: prefix)
        #expect(reload.status == 0)
        #expect(waitUntil(seconds: 10) { client() == "second" })

        // -s quit ends the process and removes the pid file.
        let quit = try Self.run(["-p", prefix, "-c", "conf/nginx.conf", "-s", "quit"], prefix: prefix)
        #expect(quit.status == 0)
        #expect(server.wait(seconds: 15) == 0)
        #expect(!FileManager.default.fileExists(atPath: prefix + "/logs/nginx.pid"))
        #expect(!canConnect(port: port))
    }

    /// A supervisor may signal the server the moment its port answers: that signal stops it
    /// (an early one used to be lost while the handlers were being installed).
    /// `daemon on` (as Test::Nginx writes it): the command returns at once, the server goes on
    /// in the background with its pid in the pid file, and `-s quit` stops it.
    @Test func daemonOnReturnsAndServesInTheBackground() throws {
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let port = freePort()
        writeFile(prefix + "/conf/nginx.conf", "daemon on;\n" + Self.configuration(port: port, answer: "daemon"))
        let started = try Self.run(["-p", prefix, "-c", "conf/nginx.conf"], prefix: prefix)
        #expect(started.status == 0)
        #expect(waitUntil(seconds: 15) { canConnect(port: port) })
        // The port can answer before the pid file is written (the listening sockets are bound
        // first, as nginx's are): wait for the file, as Test::Nginx does.
        func readPid() -> Int32? {
            (try? String(contentsOfFile: prefix + "/logs/nginx.pid", encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        #expect(waitUntil(seconds: 15) { readPid() != nil })
        let pid = readPid()
        #expect(pid != nil && pid != getpid())
        let connection = HTTPClient(port: port, timeoutSeconds: 5)
        connection.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(connection.readResponse()?.body == "daemon")
        connection.close()
        let quit = try Self.run(["-p", prefix, "-c", "conf/nginx.conf", "-s", "quit"], prefix: prefix)
        #expect(quit.status == 0)
        #expect(waitUntil(seconds: 15) { !canConnect(port: port) })
        if !waitUntil(seconds: 5, { !canConnect(port: port) }), let pid { kill(pid, SIGKILL) }
    }

    /// `-v` and `-V` answer as nginx's do, on stderr with status 0: Test::Nginx reads the
    /// version with `m{nginx/(\d+)\.(\d+)\.(\d+)}` from `-V` and stops when it cannot.
    @Test func versionFlagsAnswerAsNginxDoes() throws {
        let prefix = makeTemporaryDirectory()
        let short = try Self.run(["-v"], prefix: prefix)
        #expect(short.status == 0)
        #expect(short.stderr.hasPrefix("nginx version: nginx/1.22.1"))
        let long = try Self.run(["-V"], prefix: prefix)
        #expect(long.status == 0)
        #expect(long.stderr.contains(/nginx\/(\d+)\.(\d+)\.(\d+)/))
        #expect(long.stderr.contains("built with OpenSSL 3"))
        #expect(long.stderr.contains("configure arguments: "))
        #expect(long.stderr.contains("--with-http_ssl_module"))
    }

    /// An error in `init_by_lua*` ends the start with status 1 (and fails `-t`), as nginx's
    /// does; one in `init_worker_by_lua*` is logged and the server serves.
    @Test func initByLuaErrorsStopTheStart() throws {
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let port = freePort()
        writeFile(prefix + "/conf/nginx.conf", """
            error_log logs/error.log info;
            events {}
            http {
                init_by_lua_block { error("boom at init") }
                server { listen 127.0.0.1:\(port); location / { return 204; } }
            }
            """)
        let checked = try Self.run(["-p", prefix, "-c", "conf/nginx.conf", "-t"], prefix: prefix)
        #expect(checked.status == 1)
        #expect(checked.stderr.contains("init_by_lua error: init_by_lua(nginx.conf:4):1: boom at init"))
        let served = try Self.run(["-p", prefix, "-c", "conf/nginx.conf"], prefix: prefix)
        #expect(served.status == 1)
        #expect(served.stderr.contains("[error] init_by_lua error: init_by_lua(nginx.conf:4):1: boom at init"))
        #expect((try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8))?.contains("init_by_lua error") == true)

        writeFile(prefix + "/conf/worker.conf", """
            error_log logs/worker.log info;
            pid logs/worker.pid;
            events {}
            http {
                init_worker_by_lua_block { error("boom in worker") }
                server { listen 127.0.0.1:\(port); location / { content_by_lua_block { ngx.print("serving") } } }
            }
            """)
        let server = try Child(["-p", prefix, "-c", "conf/worker.conf"], stderrPath: prefix + "/worker-stderr")
        defer { server.kill() }
        #expect(waitUntil(seconds: 15) { canConnect(port: port) }, "\(server.stderr)")
        let connection = HTTPClient(port: port, timeoutSeconds: 5)
        defer { connection.close() }
        connection.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(connection.readResponse()?.body == "serving")
        #expect(waitUntil { (try? String(contentsOfFile: prefix + "/logs/worker.log", encoding: .utf8))?.contains("boom in worker") == true })
    }

    @Test func interruptAsSoonAsThePortAnswersStops() throws {
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        for signal in [SIGINT, SIGTERM, SIGINT] {
            let port = freePort()
            writeFile(prefix + "/conf/nginx.conf", Self.configuration(port: port, answer: "up"))
            let server = try Child(["-p", prefix, "-c", "conf/nginx.conf"], stderrPath: prefix + "/serve-stderr")
            defer { server.kill() }
            let deadline = Date().addingTimeInterval(15)
            while !canConnect(port: port) && Date() < deadline { usleep(1_000) }
            Glibc.kill(server.pid, signal)
            #expect(server.wait(seconds: 15) == 0, "\(server.stderr)")
            #expect(!FileManager.default.fileExists(atPath: prefix + "/logs/nginx.pid"))
        }
    }

    /// A stop signal during a start that never ends (an init phase that loops) waits for it;
    /// a second one ends the process, as Ctrl-C twice would.
    @Test func aSecondStopSignalEndsAStartThatHangs() throws {
        let prefix = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        writeFile(prefix + "/conf/nginx.conf", """
            events {}
            http {
                init_worker_by_lua_block { while true do end }
                server { listen 127.0.0.1:\(freePort()); location / { return 200; } }
            }
            """)
        let server = try Child(["-p", prefix, "-c", "conf/nginx.conf"], stderrPath: prefix + "/serve-stderr")
        defer { server.kill() }
        usleep(500_000)
        Glibc.kill(server.pid, SIGTERM)
        #expect(server.wait(seconds: 0.5) == nil, "the first signal waits for the start")
        Glibc.kill(server.pid, SIGTERM)
        #expect(server.wait(seconds: 15) == 128 + SIGTERM, "\(server.stderr)")
    }
}
