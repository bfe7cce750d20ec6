import Foundation
import Testing

@testable import CosocketServer

/// Debian's stock `/etc/nginx/nginx.conf` (package `nginx-common`, which `scripts/install-deps`
/// installs) loads as it is, main and `http` blocks included (`user`, `include
/// modules-enabled/*.conf`, `include mime.types`, `ssl_*`, `gzip`, ...), with only its
/// `sites-enabled` include pointed at a site of Lua locations, and serves it.
@Suite struct DebianConfigurationTests {
    static let stock = "/etc/nginx/nginx.conf"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: stock), "nginx-common is not installed"))
    func stockNginxConfWithALuaSite() throws {
        let text = try String(contentsOfFile: Self.stock, encoding: .utf8)
        #expect(text.contains("include /etc/nginx/sites-enabled/*;"))
        let patched = text.replacingOccurrences(of: "include /etc/nginx/sites-enabled/*;", with: "include sites/*.conf;")
        let site = """
            server {
                listen 127.0.0.1:@PORT@;
                location = /lua { content_by_lua_block { ngx.say("served by ", ngx.config.subsystem) } }
                location /type { content_by_lua_block { ngx.print(ngx.header["Content-Type"] or "none") } }
            }
            """
        let server = try TestServer(patched, files: ["conf/sites/lua.conf": site])
        #expect(server.configuration.workerProcesses == System.coreCount)
        #expect(server.configuration.workerConnections == 768)
        #expect(server.configuration.ignored.contains { $0.name == "user" })
        #expect(server.get("/lua").body == "served by http\n")
    }
}
