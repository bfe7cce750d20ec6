import CosocketCore
import Testing

@testable import CosocketServer

@Suite struct ConfigurationBuilderTests {
    let sample = """
        worker_processes 2;
        error_log logs/error.log info;
        events { worker_connections 512; }
        http {
            lua_socket_read_timeout 250ms;
            lua_socket_pool_size 8;
            lua_package_path "/opt/lua/?.lua;;";
            access_by_lua_block { ngx.ctx.checked = true }
            access_log off;
            server {
                listen 127.0.0.1:8080;
                server_name example;
                location = /exact { return 204; }
                location / {
                    log_by_lua_block { ngx.log(ngx.INFO, "done") }
                    content_by_lua_block {
                        local t = { "}" }  -- a brace in a string and a comment }
                        ngx.say("hello")
                    }
                }
            }
        }
        """

    @Test func buildsWorkersSocketsAndServers() throws {
        let nodes = try ConfigParser(fileSystem: .inMemory(["/conf/nginx.conf": sample])).parseFile("/conf/nginx.conf")
        let configuration = try ConfigurationBuilder(prefix: "/conf").build(nodes)
        #expect(configuration.workerProcesses == 2)
        #expect(configuration.errorLogLevel == .info)
        #expect(configuration.workerConnections == 512)
        #expect(configuration.engine.readTimeout == .milliseconds(250))
        #expect(configuration.engine.poolSize == 8)
        #expect(configuration.lua.packagePath == "/opt/lua/?.lua;;")
        #expect(configuration.ignored.map(\.name) == ["access_log"])
        let server = try #require(configuration.servers.first)
        #expect(server.listen == [ListenAddress(host: "127.0.0.1", port: 8080)])
        #expect(server.names == ["example"])
        let exact = try #require(server.locations.match(uri: "/exact"))
        guard case .respond(let code, _)? = exact.payload.settings.script.first else {
            Issue.record("no return step")
            return
        }
        #expect(code == 204)
        let root = try #require(server.locations.match(uri: "/anything"))
        let content = try #require(root.payload.settings.content)
        #expect(String(decoding: content.code, as: UTF8.self).contains("ngx.say(\"hello\")"))
        #expect(content.chunkName.hasPrefix("=content_by_lua(nginx.conf:"))
        // access_by_lua is inherited from http; log_by_lua is the location's own.
        #expect(root.payload.settings.access != nil)
        #expect(root.payload.settings.log != nil)
        #expect(exact.payload.settings.log == nil)
    }

    @Test func unknownDirectivesNameTheirPlace() throws {
        let nodes = try ConfigParser(fileSystem: .inMemory(["/c/nginx.conf": "http {\n  frobnicate on;\n}\n"])).parseFile("/c/nginx.conf")
        #expect(throws: ConfigError.self) { try ConfigurationBuilder(prefix: "/c").build(nodes) }
        do {
            _ = try ConfigurationBuilder(prefix: "/c").build(nodes)
        } catch {
            #expect(error.description == "unknown directive \"frobnicate\" in /c/nginx.conf:2")
        }
    }

    @Test func badValuesAreRejected() throws {
        for text in ["worker_processes none;", "daemon maybe;", "http { server { listen 70000; } }", "http { lua_socket_read_timeout soon; }"] {
            let nodes = try ConfigParser(fileSystem: .inMemory(["/c/nginx.conf": text])).parseFile("/c/nginx.conf")
            #expect(throws: ConfigError.self) { try ConfigurationBuilder(prefix: "/c").build(nodes) }
        }
    }
}
