import CosocketCore
import CosocketTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import CosocketLua

#if canImport(Glibc)
import Glibc
#endif

/// `lua_socket_log_errors`: which cosocket failures reach the error log, in the reference's
/// words (checked with Debian's nginx + lua module, without its `client: ...` suffix).
@Suite struct SocketErrorLogTests {
    // MARK: Messages

    private static func entry(
        _ operation: SocketOperation, _ error: CosocketError, target: ConnectTarget? = .host("127.0.0.1", port: 1234),
        peer: SocketAddress? = nil
    ) -> String? {
        LuaSocket.errorLogEntry(operation, error, target: target, peerAddress: peer).map { "[\($0.level.name)] \($0.message)" }
    }

    @Test func timeouts() throws {
        let peer = try SocketAddress(ipAddress: "127.0.0.1", port: 1234)
        #expect(Self.entry(.read, .timeout(partial: ByteBuffer(string: "part"))) == "[error] lua tcp socket read timed out")
        #expect(Self.entry(.write, .timeout(partial: ByteBuffer())) == "[error] lua tcp socket write timed out")
        #expect(
            Self.entry(.connect, .timeout(partial: ByteBuffer()), target: .host("localhost", port: 1234), peer: peer)
                == "[error] lua tcp socket connect timed out, when connecting to 127.0.0.1:1234")
        let ipv6 = try SocketAddress(ipAddress: "::1", port: 80)
        #expect(
            Self.entry(.connect, .timeout(partial: ByteBuffer()), peer: ipv6)
                == "[error] lua tcp socket connect timed out, when connecting to ::1:80")
        // Still in the pool's backlog queue: the target as given, before resolution.
        #expect(
            Self.entry(.connect, .timeout(partial: ByteBuffer()), target: .host("localhost", port: 6379))
                == "[error] lua tcp socket queued connect timed out, when trying to connect to localhost:6379")
    }

    @Test func systemErrorsOnConnect() {
        #expect(Self.entry(.connect, .system(errno: ECONNREFUSED, partial: ByteBuffer())) == "[error] connect() failed (111: Connection refused)")
        #expect(Self.entry(.connect, .system(errno: EHOSTUNREACH, partial: ByteBuffer())) == "[error] connect() failed (113: No route to host)")
        #expect(
            Self.entry(.connect, .system(errno: ENOENT, partial: ByteBuffer()), target: .unix(path: "/tmp/none.sock"))
                == "[crit] connect() to unix:/tmp/none.sock failed (2: No such file or directory)")
        #expect(
            Self.entry(.connect, .system(errno: ECONNREFUSED, partial: ByteBuffer()), target: .unix(path: "/tmp/old.sock"))
                == "[error] connect() to unix:/tmp/old.sock failed (111: Connection refused)")
    }

    @Test func failuresTheReferenceDoesNotLog() {
        let unlogged: [(SocketOperation, CosocketError)] = [
            (.read, .closed(partial: ByteBuffer())),
            (.write, .closed(partial: ByteBuffer())),
            (.connect, .closed(partial: ByteBuffer())),
            (.connect, .noResolver(host: "example.com")),
            (.connect, .unresolved(host: "example.com", code: 3, reason: "Host not found")),
            (.connect, .badHostName(host: "", reason: "no host")),
            (.connect, .tooManyWaitingConnects),
            (.read, .busy(.read)),
            // recv()/send() errors are nginx's own log lines, not lua_socket_log_errors'.
            (.read, .system(errno: ECONNRESET, partial: ByteBuffer())),
            (.write, .system(errno: EPIPE, partial: ByteBuffer())),
        ]
        for (operation, error) in unlogged {
            #expect(Self.entry(operation, error) == nil, "\(operation) \(error)")
        }
    }

    // MARK: Through Lua

    @Test(arguments: [true, false])
    func refusedConnectAndReadTimeout(logErrors: Bool) throws {
        let refusing = RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let mute = TestListener { fd in Peer.waitForClientClose(fd, milliseconds: 5000) }
        defer { mute.stop() }
        var configuration = EngineConfiguration()
        configuration.readTimeout = .milliseconds(50)
        configuration.logErrors = logErrors
        let run = try LuaRun.run(
            """
            local sock = ngx.socket.tcp()
            ngx.say(select(2, sock:connect("127.0.0.1", \(refusing.port))))
            sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", \(mute.port)))
            ngx.say(select(2, sock:receive()))
            ngx.say(select(2, sock:receive(4)))
            """, configuration: configuration)
        #expect(run.output == "connection refused\ntimeout\ntimeout\n")
        if logErrors {
            #expect(run.log == [
                "[error] connect() failed (111: Connection refused)",
                "[error] lua tcp socket read timed out",
                "[error] lua tcp socket read timed out",
            ])
        } else {
            #expect(run.log.isEmpty)
        }
    }

    @Test func connectTimeoutNamesThePeer() throws {
        // A listener that never accepts: once its queue is full, connects stay pending.
        let full = TestListener(backlog: 0, acceptConnections: false) { _ in }
        defer { full.stop() }
        var configuration = EngineConfiguration()
        configuration.connectTimeout = .milliseconds(50)
        let run = try LuaRun.run(
            """
            local sockets, last = {}, nil
            for i = 1, 6 do
                sockets[i] = ngx.socket.tcp()
                local ok, err = sockets[i]:connect("127.0.0.1", \(full.port))
                last = err
            end
            ngx.say(last)
            """, configuration: configuration)
        #expect(run.output == "timeout\n")
        #expect(run.log.last == "[error] lua tcp socket connect timed out, when connecting to 127.0.0.1:\(full.port)")
    }

    @Test func queuedConnectTimeoutNamesTheTarget() throws {
        let mute = TestListener { fd in Peer.waitForClientClose(fd, milliseconds: 5000) }
        defer { mute.stop() }
        var configuration = EngineConfiguration()
        configuration.connectTimeout = .milliseconds(50)
        let run = try LuaRun.run(
            """
            local options = { pool = "one", pool_size = 1, backlog = 1 }
            local first = ngx.socket.tcp()
            assert(first:connect("127.0.0.1", \(mute.port), options))
            local second = ngx.socket.tcp()
            ngx.say(select(2, second:connect("127.0.0.1", \(mute.port), options)))
            """, configuration: configuration)
        #expect(run.output == "timeout\n")
        #expect(run.log == ["[error] lua tcp socket queued connect timed out, when trying to connect to 127.0.0.1:\(mute.port)"])
    }

    @Test func sendTimeout() throws {
        // A peer that never reads: the kernel buffers fill up and a send waits until its timeout.
        let deaf = TestListener { fd in Peer.waitForClientClose(fd, milliseconds: 5000) }
        defer { deaf.stop() }
        var configuration = EngineConfiguration()
        configuration.sendTimeout = .milliseconds(100)
        let run = try LuaRun.run(
            """
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", \(deaf.port)))
            local chunk = string.rep("x", 1024 * 1024)
            for _ = 1, 64 do
                local ok, err = sock:send(chunk)
                if not ok then ngx.say(err) break end
            end
            """, configuration: configuration)
        #expect(run.output == "timeout\n")
        #expect(run.log == ["[error] lua tcp socket write timed out"])
    }

    @Test func unixSocketThatDoesNotExist() throws {
        let run = try LuaRun.run(
            """
            local sock = ngx.socket.tcp()
            ngx.say(select(2, sock:connect("unix:/nonexistent/cosocket.sock")))
            """, configuration: EngineConfiguration())
        #expect(run.output == "no such file or directory\n")
        #expect(run.log == ["[crit] connect() to unix:/nonexistent/cosocket.sock failed (2: No such file or directory)"])
    }
}

// MARK: Harness

/// An error log that keeps its lines as "[level] message".
final class RecordingErrorLog: LuaErrorLog, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []

    func log(_ level: LuaLogLevel, _ message: String) {
        lock.withLock { entries.append("[\(level.name)] \(message)") }
    }

    var lines: [String] { lock.withLock { entries } }
}

/// `ngx.say` output, kept in memory.
final class CollectedOutput: LuaOutput, @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var headersSent = false
    var luaWroteOutput: Bool { !bytes.isEmpty }
    let isHeadRequest = false

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        self.bytes.append(contentsOf: bytes)
        return true
    }

    func flush(whenWritten: (() -> Void)?) -> LuaFlushResult { .done }
    func sendHeaders() { headersSent = true }
    func endOutput() -> Bool { true }
}

/// Runs a Lua chunk as `resty` would (ScriptRunner), but with its output and error log kept.
enum LuaRun {
    struct Failed: Error { let message: String }

    /// `readinessSet`: on a ``CosocketEventLoopGroup`` loop (the descriptor transport, which
    /// TLS needs) rather than a plain NIO one.
    static func run(_ source: String, configuration: EngineConfiguration, readinessSet: Bool = false) throws -> (output: String, log: [String]) {
        let cosocketGroup = readinessSet ? CosocketEventLoopGroup(numberOfThreads: 1) : nil
        let group = cosocketGroup?.group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer {
            if let cosocketGroup { try? cosocketGroup.syncShutdownGracefully() } else { try? group.syncShutdownGracefully() }
        }
        let loop = group.next()
        let engine = CosocketEngine(eventLoop: loop, configuration: configuration)
        CosocketEngine.register(engine)
        let log = RecordingErrorLog()
        let output = CollectedOutput()
        let finished = loop.makePromise(of: String?.self)
        loop.execute {
            do {
                let worker = try LuaWorker(engine: engine, errorLog: log)
                let chunk = try worker.load(Array(source.utf8), chunkName: "=test")
                let context = LuaContext(kind: .script)
                context.output = output
                context.delegate = ScriptCompletion { context in finished.succeed(context.failure) }
                worker.start(chunk, in: context)
                // Held until the chunk has ended; shut down on the loop it belongs to.
                let boundWorker = NIOLoopBound(worker, eventLoop: loop)
                finished.futureResult.whenComplete { _ in boundWorker.value.shutdown() }
            } catch {
                finished.succeed("\(error)")
            }
        }
        if let failure = try finished.futureResult.wait() { throw Failed(message: failure) }
        let text = try loop.submit { String(decoding: output.bytes, as: UTF8.self) }.wait()
        return (text, log.lines)
    }
}
