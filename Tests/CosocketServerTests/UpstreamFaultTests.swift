import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Fault injection against upstreams through the Lua API: each row of `UpstreamFaultRows`
/// (one fault × one operation) is a location of one server, run against its own fault peer.
/// Each row checks the reference's results and error strings (and, through the later calls
/// it prints, the socket's state), that no socket to the peer is left open (the census of
/// this process's descriptors, where the workers run), and that the worker then serves the
/// next request.
///
/// `COSOCKET_FAULT_REFERENCE=1 swift test --filter UpstreamFaultTests` runs the same table
/// against the reference (`/work/shared/tools/ref-nginx`, or `$REF_NGINX`), descriptors
/// counted in the nginx process: how the expectations were checked.
@Suite struct UpstreamFaultTests {
    /// The peers and the configuration shared by all rows, started once.
    final class Fixture: @unchecked Sendable {
        let peers: [FaultPeer]
        let directory: String
        let configuration: String

        init() {
            peers = UpstreamFaultRows.all.map { FaultPeer($0.fault) }
            directory = makeTemporaryDirectory()
            var locations = "location = /ok { return 200 \"ok\"; }\n"
            for (index, row) in UpstreamFaultRows.all.enumerated() {
                let path = directory + "/row\(index).lua"
                writeFile(path, UpstreamFaultRows.prelude.replacing("PORT", with: String(peers[index].port)) + row.lua.replacing("PORT", with: String(peers[index].port)))
                locations += "location = /row/\(index) { content_by_lua_file \(path); }\n"
            }
            configuration = locations
        }

    }

    static let fixture = Fixture()
    static let ours: TestServer? = try? TestServer(server: fixture.configuration, http: "lua_socket_log_errors off;")

    static var referenceRequested: Bool { ProcessInfo.processInfo.environment["COSOCKET_FAULT_REFERENCE"] == "1" }

    static let rows = Array(UpstreamFaultRows.all.indices)

    /// Started only when the reference is asked for; it stops itself after two minutes.
    static let reference: ReferenceNginx? = referenceRequested ? try? ReferenceNginx(server: fixture.configuration) : nil

    @Test(arguments: rows) func row(_ index: Int) throws {
        if Self.referenceRequested {
            let reference = try #require(Self.reference)
            try Self.check(index, port: reference.port, pid: reference.pid)
            return
        }
        let server = try #require(Self.ours)
        try Self.check(index, port: server.port, pid: nil)
    }

    /// Runs one row against the server on `port`, descriptors counted in `pid`.
    static func check(_ index: Int, port: Int, pid: Int32?) throws {
        let row = UpstreamFaultRows.all[index]
        let peer = fixture.peers[index]
        let before = SocketCensus.count(remotePort: peer.port, udp: row.fault.isUDP, pid: pid)
        let client = HTTPClient(port: port, timeoutSeconds: 15)
        defer { client.close() }
        client.send("GET /row/\(index) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let response = client.readResponse()
        #expect(response?.status == 200, "\(row.testDescription)")
        #expect(response?.body == row.expected, "\(row.testDescription)")
        // Closes are asynchronous on both sides: wait for the census to settle.
        let settled = waitUntil(seconds: 3) { SocketCensus.count(remotePort: peer.port, udp: row.fault.isUDP, pid: pid) == before + row.leftover }
        #expect(settled, "\(row.testDescription): \(SocketCensus.count(remotePort: peer.port, udp: row.fault.isUDP, pid: pid) - before) sockets to the peer, expected \(row.leftover) (pid \(pid.map(String.init) ?? "self"))")
        if let expected = row.peerReceived {
            #expect(waitUntil(seconds: 3) { peer.received == expected }, "\(row.testDescription): the peer read \(peer.received.debugDescription)")
        }
        let next = HTTPClient(port: port)
        defer { next.close() }
        next.send("GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(next.readResponse()?.body == "ok", "\(row.testDescription): the next request")
    }
}

/// The reference nginx (`ref-nginx`) serving a one-server configuration on a free loopback
/// port, in the foreground with one process (so its descriptors are that process's).
final class ReferenceNginx: @unchecked Sendable {
    let port: Int
    let prefix: String
    let process = Process()
    /// nginx's own process (the child of `timeout`).
    var pid: Int32 {
        let children = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8)) ?? ""
        return children.split(separator: " ").first.flatMap { Int32($0) } ?? process.processIdentifier
    }

    init(server body: String, http: String = "") throws {
        let reservation = PortReservation()
        port = reservation.port
        reservation.release()
        prefix = makeTemporaryDirectory()
        let configuration = """
            daemon off; master_process off; worker_processes 1;
            error_log logs/error.log; pid logs/nginx.pid;
            events {}
            http {
                lua_socket_log_errors off;
                access_log off;
                \(http)
                server {
                    listen 127.0.0.1:\(port);
                    \(body)
                }
            }
            """
        writeFile(prefix + "/conf/nginx.conf", configuration)
        // Under `timeout`: a test process that dies cannot leave it running.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        let tool = ProcessInfo.processInfo.environment["REF_NGINX"] ?? "/work/shared/tools/ref-nginx"
        process.arguments = ["-s", "KILL", "120", tool, "-p", prefix, "-c", prefix + "/conf/nginx.conf"]
        try process.run()
        let up = waitUntil(seconds: 10) {
            let fd = Loopback.tcpSocket()
            defer { close(fd) }
            return Loopback.connect(fd, port: self.port)
        }
        if !up { throw CocoaError(.executableLoad) }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: prefix)
    }
}
