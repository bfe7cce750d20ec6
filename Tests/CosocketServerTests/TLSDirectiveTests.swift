import CosocketCore
import CosocketTestSupport
import Testing

@testable import CosocketServer

/// The `lua_ssl_*` directives: merged per location into the socket defaults as `lua_socket_*`
/// are, refused in a location's `if` as nginx refuses them, and their files loaded while the
/// configuration is read.
@Suite struct TLSDirectiveTests {
    static func build(_ http: String) throws -> ServerConfiguration {
        let text = "events {}\nhttp {\n\(http)\n}\n"
        let nodes = try ConfigParser(fileSystem: .inMemory(["/conf/nginx.conf": text])).parseFile("/conf/nginx.conf")
        return try ConfigurationBuilder(prefix: "/conf").build(nodes)
    }

    @Test func settingsMergeDownwardsPerLocation() throws {
        let ca = TLSCertificates.path("ca.pem")
        let configuration = try Self.build("""
            lua_ssl_trusted_certificate \(ca);
            lua_ssl_verify_depth 3;
            server {
              listen 127.0.0.1:1;
              lua_ssl_protocols TLSv1.3;
              location /a { lua_ssl_verify_default on; lua_ssl_ciphers HIGH; lua_ssl_conf_command Options -SessionTicket; content_by_lua_block { } }
              location /b { content_by_lua_block { } }
            }
            """)
        #expect(configuration.engine.tls.trustedCertificate == ca)
        #expect(configuration.engine.tls.protocols == [.tlsv1_2, .tlsv1_3])
        let server = try #require(configuration.servers.first)
        let a = try #require(server.locations.match(uri: "/a")?.payload.settings.socketDefaults?.tls)
        let b = try #require(server.locations.match(uri: "/b")?.payload.settings.socketDefaults?.tls)
        #expect(a.trustedCertificate == ca && b.trustedCertificate == ca)
        #expect(a.verifyDepth == 3 && b.verifyDepth == 3)
        #expect(a.protocols == [.tlsv1_3] && b.protocols == [.tlsv1_3])
        #expect(a.verifiesByDefault && !b.verifiesByDefault)
        #expect(a.ciphers == "HIGH" && b.ciphers == "DEFAULT")
        #expect(a.confCommands == [.init(name: "Options", value: "-SessionTicket")] && b.confCommands.isEmpty)
    }

    /// A level's own `lua_ssl_conf_command`s replace the outer level's list (nginx's merge of
    /// array directives); a level without any keeps the outer ones.
    @Test func confCommandsOfALevelReplaceTheOuterOnes() throws {
        let configuration = try Self.build("""
            server {
              listen 127.0.0.1:1;
              lua_ssl_conf_command Options -SessionTicket;
              lua_ssl_conf_command MinProtocol TLSv1.2;
              location /own { lua_ssl_conf_command MinProtocol TLSv1.3; content_by_lua_block { } }
              location /outer { lua_ssl_verify_depth 2; content_by_lua_block { } }
            }
            """)
        let server = try #require(configuration.servers.first)
        let own = try #require(server.locations.match(uri: "/own")?.payload.settings.socketDefaults?.tls)
        let outer = try #require(server.locations.match(uri: "/outer")?.payload.settings.socketDefaults?.tls)
        #expect(own.confCommands == [.init(name: "MinProtocol", value: "TLSv1.3")])
        #expect(outer.confCommands == [.init(name: "Options", value: "-SessionTicket"), .init(name: "MinProtocol", value: "TLSv1.2")])
    }

    @Test func badValuesAndUnloadableFilesStopTheConfiguration() {
        func error(_ http: String) -> String? {
            do {
                _ = try Self.build(http)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error("lua_ssl_protocols TLSv9;")?.hasPrefix("invalid value \"TLSv9\" in \"lua_ssl_protocols\" directive, it must be \"SSLv2\"") == true)
        #expect(error("lua_ssl_verify_depth x;")?.contains("invalid number \"x\"") == true)
        #expect(error("lua_ssl_verify_default maybe;")?.contains("it must be \"on\" or \"off\"") == true)
        #expect(error("lua_ssl_trusted_certificate /nonexistent/ca.pem;")?.hasPrefix("SSL_CTX_load_verify_locations(\"/nonexistent/ca.pem\") failed (SSL:") == true)
        #expect(error("lua_ssl_ciphers NO-SUCH-CIPHER;")?.hasPrefix("SSL_CTX_set_cipher_list(\"NO-SUCH-CIPHER\") failed") == true)
        #expect(error("lua_ssl_conf_command NoSuchCommand x;")?.hasPrefix("SSL_CONF_cmd(\"NoSuchCommand\", \"x\") failed") == true)
        #expect(
            error("server { listen 127.0.0.1:1; location / { if ($uri) { lua_ssl_verify_depth 2; } } }")?
                .hasPrefix("\"lua_ssl_verify_depth\" directive is not allowed here") == true)
        #expect(error("lua_ssl_certificate \(TLSCertificates.path("client.pem")); lua_ssl_certificate_key \(TLSCertificates.path("client.key"));") == nil)
    }
}
