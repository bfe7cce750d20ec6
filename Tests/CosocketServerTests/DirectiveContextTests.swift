import CosocketCore
import Foundation
import Testing

@testable import CosocketServer

/// Every directive in every context: accepted or refused as the reference accepts or refuses
/// it. `Fixtures/directive-contexts.tsv` holds the reference's verdicts, made with
/// `ref-nginx -t` on one configuration per directive and context (main, http, server,
/// location, location if), so this test needs no nginx to run.
@Suite struct DirectiveContextTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/directive-contexts.tsv").path

    /// The fixture's columns; `location if` (inside `location / { if ($uri) { } }`) may be
    /// left off a row.
    static let contexts = ["main", "http", "server", "location", "location if"]

    /// The configuration the verdicts were made with, the directive placed in `context`.
    static func configuration(_ directive: String, _ argument: String, in context: String) -> String {
        let line: String
        if argument.isEmpty {
            line = "\(directive);"
        } else if argument.hasSuffix("}") {
            line = "\(directive) \(argument)"
        } else {
            line = "\(directive) \(argument);"
        }
        func at(_ level: String) -> String { level == context ? line : "" }
        return """
            daemon off; master_process off; worker_processes 1;
            error_log logs/error.log;
            pid logs/nginx.pid;
            \(at("main"))
            events { worker_connections 64; }
            http {
              access_log off;
              \(at("http"))
              server {
                listen 127.0.0.1:1;
                \(at("server"))
                location / {
                  \(at("location"))
                  \(context == "location if" ? "if ($uri) { \(line) }" : "")
                }
              }
            }
            """
    }

    static func accepts(_ text: String) -> Bool {
        do {
            let nodes = try ConfigParser(fileSystem: .inMemory(["/conf/nginx.conf": text])).parseFile("/conf/nginx.conf")
            _ = try ConfigurationBuilder(prefix: "/conf", readFile: { _ in [] }).build(nodes)
            return true
        } catch {
            return false
        }
    }

    @Test func everyDirectiveInEveryContextAsTheReference() throws {
        let rows = try String(contentsOfFile: Self.fixture, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count > 70)
        var mismatches: [String] = []
        for row in rows {
            try #require(row.count == 6 || row.count == 7)
            for (index, context) in Self.contexts.enumerated() where 2 + index < row.count {
                let expected = row[2 + index] == "ok"
                if Self.accepts(Self.configuration(row[0], row[1], in: context)) != expected {
                    mismatches.append("\(row[0]) in \(context): reference \(expected ? "accepts" : "refuses")")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// `lua_socket_*` merge downwards: a location's value wins over its server's, which wins
    /// over http's, and what a level leaves unset comes from above.
    @Test func socketSettingsMergeDownwards() throws {
        let text = """
            events {}
            http {
              lua_socket_read_timeout 1s;
              lua_socket_pool_size 7;
              server {
                listen 127.0.0.1:1;
                lua_socket_read_timeout 2s;
                location /a { lua_socket_read_timeout 3s; lua_socket_log_errors off; content_by_lua_block { } }
                location /b { content_by_lua_block { } }
              }
              lua_socket_connect_timeout 5s;
            }
            """
        let nodes = try ConfigParser(fileSystem: .inMemory(["/conf/nginx.conf": text])).parseFile("/conf/nginx.conf")
        let configuration = try ConfigurationBuilder(prefix: "/conf").build(nodes)
        let server = try #require(configuration.servers.first)
        let a = try #require(server.locations.match(uri: "/a")?.payload.settings.socketDefaults)
        let b = try #require(server.locations.match(uri: "/b")?.payload.settings.socketDefaults)
        #expect(a.readTimeout == .seconds(3))
        #expect(!a.logErrors)
        #expect(b.readTimeout == .seconds(2))
        #expect(b.logErrors)
        #expect(a.poolSize == 7 && b.poolSize == 7)
        #expect(a.connectTimeout == .seconds(5) && b.connectTimeout == .seconds(5))
        #expect(configuration.engine.readTimeout == .seconds(1))
    }

    /// Ours: `lua_system_resolver` and `lua_socket_connect_fallback` (on by default) in http,
    /// server and location, merged downwards; refused in a location's `if` (as `resolver`
    /// is) and in main, and with a value other than on or off, as the other flags here are.
    @Test func systemResolverAndConnectFallbackSwitches() throws {
        let text = """
            events {}
            http {
              lua_system_resolver off;
              server {
                listen 127.0.0.1:1;
                lua_socket_connect_fallback off;
                location /a { lua_system_resolver on; content_by_lua_block { } }
                location /b { lua_socket_connect_fallback on; content_by_lua_block { } }
                location /c { content_by_lua_block { } }
              }
              server {
                listen 127.0.0.1:2;
                location /d { content_by_lua_block { } }
              }
            }
            """
        let nodes = try ConfigParser(fileSystem: .inMemory(["/conf/nginx.conf": text])).parseFile("/conf/nginx.conf")
        let configuration = try ConfigurationBuilder(prefix: "/conf").build(nodes)
        #expect(!configuration.engine.systemResolver)
        #expect(configuration.engine.connectFallback)
        let server = try #require(configuration.servers.first)
        let a = try #require(server.locations.match(uri: "/a")?.payload.settings.socketDefaults)
        let b = try #require(server.locations.match(uri: "/b")?.payload.settings.socketDefaults)
        let c = try #require(server.locations.match(uri: "/c")?.payload.settings.socketDefaults)
        #expect(a.systemResolver && !a.connectFallback)
        #expect(!b.systemResolver && b.connectFallback)
        #expect(!c.systemResolver && !c.connectFallback)
        // A server that sets neither takes http's (the engine's) settings.
        let other = try #require(configuration.servers.last)
        #expect(other.locations.match(uri: "/d")?.payload.settings.socketDefaults == nil)
        #expect(EngineConfiguration().systemResolver && EngineConfiguration().connectFallback)

        let wrapped = { (body: String) in "events {} http { server { listen 127.0.0.1:1; \(body) } }" }
        for name in ["lua_system_resolver", "lua_socket_connect_fallback"] {
            #expect(configurationError(wrapped("location / { if ($arg_a) { \(name) off; } }")) == "\"\(name)\" directive is not allowed here")
            #expect(configurationError("\(name) off; events {} http { }") == "\"\(name)\" directive is not allowed here")
            #expect(configurationError(wrapped("\(name) maybe;")) == "invalid value \"maybe\" in \"\(name)\" directive, it must be \"on\" or \"off\"")
            #expect(configurationError("events {} http { lua_code_cache maybe; }") == "invalid value \"maybe\" in \"lua_code_cache\" directive, it must be \"on\" or \"off\"")
            #expect(configurationError("events {} http { \(name) on off; }") == "invalid number of arguments in \"\(name)\" directive")
            #expect(configurationError(wrapped("location / { \(name) off; }")) == nil)
        }
    }
}
