import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// `ngx.run_worker_thread` and `thread_pool`.
@Suite struct WorkerThreadTests {
    static let folder = RequestRewriteTests.fixtures.appendingPathComponent("worker-thread").path

    static func server(_ locations: String) throws -> TestServer {
        try TestServer(
            server: locations,
            http: "lua_package_path \"\(folder)/?.lua;;\";",
            main: "worker_processes 1; thread_pool testpool threads=4;"
        )
    }

    /// Results, errors and refusals as the reference gave them for `calls.lua`.
    @Test func callsAnswerAsTheReference() throws {
        let expected = try String(contentsOfFile: Self.folder + "/calls.expected", encoding: .utf8)
        let server = try Self.server("location / { content_by_lua_file \(Self.folder)/calls.lua; }")
        let response = server.get("/")
        #expect(response.status == 200)
        #expect(response.body == expected)
    }

    /// A job that keeps its thread busy for 300 ms does not hold the worker up: 100 other
    /// requests to the same (single) worker are answered meanwhile.
    @Test func aBusyThreadLeavesTheWorkerServing() throws {
        let server = try Self.server(#"""
            location /slow { content_by_lua_block { ngx.say(ngx.run_worker_thread("testpool", "wtmod", "sleepy", 300)) } }
            location /fast { content_by_lua_block { ngx.say("fast") } }
            """#)
        let slowDone = Atomic(false)
        let slowBody = Atomic("")
        let slow = Thread {
            slowBody.set(server.get("/slow").body)
            slowDone.set(true)
        }
        slow.start()
        usleep(50_000)
        var fastAnswers = 0
        for _ in 0..<100 where server.get("/fast").body == "fast\n" && !slowDone.get() { fastAnswers += 1 }
        #expect(fastAnswers == 100)
        #expect(waitUntil(seconds: 5) { slowDone.get() })
        #expect(slowBody.get() == "trueslept\n")
    }

    @Test func directiveRefusals() {
        func error(_ main: String) -> String? { configurationError("\(main) events {} http { }") }
        // nginx 1.22's words (ref-nginx -t).
        #expect(error("thread_pool p;") == "invalid number of arguments in \"thread_pool\" directive")
        #expect(error("thread_pool p threads=x;") == "invalid threads value \"threads=x\"")
        #expect(error("thread_pool p threads=0;") == "invalid threads value \"threads=0\"")
        #expect(error("thread_pool p threads=2 max_queue=x;") == "invalid max_queue value \"max_queue=x\"")
        #expect(error("thread_pool p threads=2; thread_pool p threads=3;") == "duplicate thread pool \"p\"")
        #expect(error("thread_pool default threads=2;") == nil)
        #expect(error("thread_pool p threads=2 max_queue=0;") == nil)
        #expect(error("http { thread_pool p threads=2; }")?.contains("not allowed here") == true)
    }
}

/// A value shared by the test's threads.
final class Atomic<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
