import Foundation
import Testing

@testable import CosocketServer

/// `HTTPServer.reload`, `quit` and `stop` with requests in flight.
@Suite struct ServerControlTests {
    static func configuration(answer: String) -> String {
        """
        worker_processes 2;
        events {}
        http {
            server {
                listen 127.0.0.1:@PORT@;
                location = /slow { content_by_lua_block { ngx.sleep(0.5) ngx.print("\(answer) slow") } }
                location = / { content_by_lua_block { ngx.print("\(answer)") } }
            }
        }
        """
    }

    /// Starts `GET path` on a background thread; the result arrives through the returned box.
    static func background(port: Int, _ path: String) -> (DispatchSemaphore, () -> HTTPResponse) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = HTTPResponse.none
        let lock = NSLock()
        Thread {
            let client = HTTPClient(port: port)
            client.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let response = client.readResponse() ?? .none
            client.close()
            lock.withLock { result = response }
            done.signal()
        }.start()
        return (done, { lock.withLock { result } })
    }

    @Test func reloadFinishesInFlightRequestsWithTheOldHandlerAndKeepsAccepting() throws {
        let server = try TestServer(Self.configuration(answer: "old"))
        #expect(server.get("/").body == "old")
        let (done, slow) = Self.background(port: server.port, "/slow")
        usleep(150_000)  // the slow request is in its handler
        // Probe continuously while reloading: every connection must be answered.
        let probing = DispatchGroup()
        nonisolated(unsafe) var probeAnswers: [String] = []
        let lock = NSLock()
        let stopProbing = NSLock()
        nonisolated(unsafe) var probingDone = false
        probing.enter()
        Thread {
            while !stopProbing.withLock({ probingDone }) {
                let answer = server.get("/").body
                lock.withLock { probeAnswers.append(answer) }
            }
            probing.leave()
        }.start()
        let text = Self.configuration(answer: "new").replacing("@PORT@", with: String(server.port))
        writeFile(server.prefix + "/conf/nginx.conf", text)
        try server.server.reload(TestServer.load(server.prefix + "/conf/nginx.conf", prefix: server.prefix))
        #expect(waitUntil { server.get("/").body == "new" })
        stopProbing.withLock { probingDone = true }
        probing.wait()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(slow().body == "old slow")
        #expect(server.get("/slow").body == "new slow")
        let answers = lock.withLock { probeAnswers }
        #expect(!answers.isEmpty)
        // A probe accepted by the old worker just before the swap is answered by it, not closed.
        #expect(answers.allSatisfy { $0 == "old" || $0 == "new" }, "\(answers.filter { $0 != "old" && $0 != "new" })")
    }

    /// Kept-alive connections through five reloads: nginx closes the idle ones and loses the
    /// requests their clients were just sending; here each carries one more request, answered
    /// with `Connection: close`, so no request fails.
    @Test func reloadsLoseNoRequestOnKeptAliveConnections() throws {
        let server = try TestServer(Self.configuration(answer: "g0"))
        let clients = 4
        let stop = NSLock()
        nonisolated(unsafe) var stopping = false
        let results = NSLock()
        nonisolated(unsafe) var failures: [String] = []
        nonisolated(unsafe) var closesAnnounced = 0
        nonisolated(unsafe) var answered = 0
        let running = DispatchGroup()
        for _ in 0..<clients {
            running.enter()
            Thread {
                var client = HTTPClient(port: server.port)
                while !stop.withLock({ stopping }) {
                    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                    guard let response = client.readResponse(), response.status == 200 else {
                        results.withLock { failures.append("no answer on a kept-alive connection") }
                        client.close()
                        client = HTTPClient(port: server.port)
                        continue
                    }
                    let closing = response.header("Connection") == "close"
                    results.withLock {
                        answered += 1
                        if closing { closesAnnounced += 1 }
                    }
                    if closing {
                        // The server closes after saying so; the client opens a new one.
                        if !client.waitForClose() { results.withLock { failures.append("not closed after Connection: close") } }
                        client.close()
                        client = HTTPClient(port: server.port)
                    }
                }
                client.close()
                running.leave()
            }.start()
        }
        let path = server.prefix + "/conf/nginx.conf"
        for generation in 1...5 {
            usleep(200_000)
            writeFile(path, Self.configuration(answer: "g\(generation)").replacing("@PORT@", with: String(server.port)))
            try server.server.reload(TestServer.load(path, prefix: server.prefix))
        }
        usleep(200_000)
        stop.withLock { stopping = true }
        #expect(running.wait(timeout: .now() + 20) == .success)
        #expect(server.get("/").body == "g5")
        results.withLock {
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            #expect(answered > 50)
            // Each reload moved the kept-alive connections of the old workers over.
            #expect(closesAnnounced >= clients)
        }
    }

    /// An idle kept-alive connection of a retired worker stays open: its next request is
    /// answered (by the old configuration) with `Connection: close`, then it closes.
    @Test func anIdleKeptAliveConnectionIsAnsweredOnceMoreAfterAReload() throws {
        let server = try TestServer(Self.configuration(answer: "before"))
        let client = HTTPClient(port: server.port)
        defer { client.close() }
        client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let first = client.readResponse()
        #expect(first?.body == "before")
        #expect(first?.header("Connection") == "keep-alive")
        let path = server.prefix + "/conf/nginx.conf"
        writeFile(path, Self.configuration(answer: "after").replacing("@PORT@", with: String(server.port)))
        try server.server.reload(TestServer.load(path, prefix: server.prefix))
        usleep(300_000)
        client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        let second = client.readResponse()
        #expect(second?.body == "before")
        #expect(second?.header("Connection") == "close")
        #expect(client.waitForClose())
        #expect(server.get("/").body == "after")
    }

    @Test func aFailingReloadKeepsTheOldConfiguration() throws {
        let server = try TestServer(Self.configuration(answer: "kept"))
        var broken = ServerConfiguration()
        broken.workerProcesses = 2
        broken.initByLua = LuaSource(code: Array("this is not lua".utf8), chunkName: "=init_by_lua(broken)")
        broken.servers = server.configuration.servers
        #expect(throws: (any Error).self) { try server.server.reload(broken) }
        #expect(server.get("/").body == "kept")
    }

    @Test func quitLetsTheInFlightRequestFinish() throws {
        let server = try TestServer(Self.configuration(answer: "quitting"))
        let (done, slow) = Self.background(port: server.port, "/slow")
        usleep(150_000)
        server.quit()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(slow().status == 200)
        #expect(slow().body == "quitting slow")
        // No longer accepting.
        #expect(server.get("/").status == 0)
    }

    @Test
    func stopEndsAtOnce() throws {
        let server = try TestServer(Self.configuration(answer: "stopping"))
        let (done, slow) = Self.background(port: server.port, "/slow")
        usleep(150_000)
        server.stopServer()
        #expect(done.wait(timeout: .now() + 10) == .success)
        // The in-flight request was cut off: no response.
        #expect(slow().status == 0)
        #expect(server.get("/").status == 0)
    }
}
