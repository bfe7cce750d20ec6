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
