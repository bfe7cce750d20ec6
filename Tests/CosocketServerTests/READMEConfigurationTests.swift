import CosocketTestSupport
import Foundation
import Testing

@testable import CosocketServer

/// The configurations the README prints, and the `cosocket demo` configuration, serve as described.
@Suite struct READMEConfigurationTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Every ```nginx fenced block of README.md.
    static func nginxBlocks() throws -> [String] {
        let text = try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```nginx" {
                current = []
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test func everyNginxBlockOfTheREADMEServes() throws {
        let blocks = try Self.nginxBlocks()
        #expect(!blocks.isEmpty)
        let redis = try ExternalServer(.redis)
        defer { redis.stop() }
        let inspector = redis.inspector()
        _ = inspector.query("SET greeting hello-from-redis\r\n", until: "\r\n")
        _ = inspector.query("SET other second-value\r\n", until: "\r\n")
        for block in blocks {
            // The block as printed, with only its ports moved to free ones.
            let port = freePort()
            let text = block.replacing("127.0.0.1:8080", with: "127.0.0.1:\(port)")
                .replacing("\"127.0.0.1\", 6379", with: "\"127.0.0.1\", \(redis.port)")
            let server = try TestServer(text, port: port)
            defer { server.stop() }
            if block.contains("location = /redis") {
                #expect(server.get("/redis").body == "hello-from-redis\n")
                #expect(server.get("/redis?key=other").body == "second-value\n")
            }
            if block.contains("location /stream") {
                let stream = server.get("/stream")
                #expect(stream.status == 200)
                #expect(stream.chunks == ["tick 1\n", "tick 2\n", "tick 3\n"])
            }
            #expect(server.get("/nothing-here").status == 404)
        }
    }

    @Test func theDemoConfigurationServes() throws {
        let server = try TestServer(DemoConfiguration.text(port: 0, workers: "2").replacing("127.0.0.1:0", with: "127.0.0.1:@PORT@"))
        let root = server.get("/?key=hello")
        #expect(root.status == 200)
        #expect(root.body.hasPrefix("backend said: value-of-hello\nbackend status line: HTTP/1.1 200 OK\npooled connection reused "))
        #expect(server.get("/").body.hasPrefix("backend said: value-of-answer\n"))
        #expect(server.get("/fanout").body == "value-of-a\nvalue-of-b\nvalue-of-c\n")
    }
}
