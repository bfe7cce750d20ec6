import CosocketTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import CosocketServer

/// HTTPS against real clients: `curl --cacert` and `openssl s_client` with the certificates
/// `Tests/tls/make-certs` makes. SNI choosing the server and its certificate, RSA or ECDSA by
/// the client's offer, TLS 1.2 and 1.3, session resumption through the builtin and the shared
/// cache across two workers and through tickets (with key files shared by two servers), client
/// certificates required, optional and wrong, and clients that misbehave in the handshake.
@Suite(.serialized) struct HTTPSTests {
    static func cert(_ name: String) -> String { TLSCertificates.path(name) }

    /// Runs a shell command line (the arguments are ours, never input) and returns what it
    /// printed on stdout and stderr.
    static func run(_ command: String) -> String {
        let output = NSTemporaryDirectory() + "cosocket-https-\(getpid())-\(UUID().uuidString)"
        defer { unlink(output) }
        SpawnedProcess.runToEnd(["/bin/sh", "-c", "\(command) >\(output) 2>&1"])
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    static func curl(_ port: Int, host: String = "localhost", path: String = "/", _ options: String = "") -> String {
        run("curl -sS --max-time 10 --cacert \(cert("ca.pem")) --resolve \(host):\(port):127.0.0.1 \(options) https://\(host):\(port)\(path)")
    }

    /// One `openssl s_client` connection sending a GET and reading the answer to the end.
    static func sClient(_ port: Int, _ options: String) -> String {
        run("printf 'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:\(port) -ign_eof -CAfile \(cert("ca.pem")) \(options)")
    }

    static let report = """
        content_by_lua_block {
            ngx.say(ngx.var.scheme, " ", ngx.var.https, " ", ngx.var.ssl_protocol, " ", ngx.var.ssl_server_name,
                " reused=", ngx.var.ssl_session_reused, " verify=", ngx.var.ssl_client_verify,
                " dn=", ngx.var.ssl_client_s_dn, " worker=", ngx.worker.id())
        }
        """

    static func server(http: String = "", workers: Int = 1, _ servers: String) throws -> TestServer {
        try TestServer("""
            worker_processes \(workers);
            events {}
            http {
            ssl_protocols TLSv1.2 TLSv1.3;
            \(http)
            \(servers)
            }
            """)
    }

    static func tlsServer(_ name: String, _ pairs: [String], _ extra: String = "", body: String = report) -> String {
        """
        server {
            listen 127.0.0.1:@PORT@ ssl;
            server_name \(name);
            \(pairs.map { "ssl_certificate \(cert($0 + ".pem")); ssl_certificate_key \(cert($0 + ".key"));" }.joined(separator: "\n"))
            \(extra)
            location / { \(body) }
        }
        """
    }

    /// nginx 1.22's `ssl_protocols` default has no TLSv1.3 (1.23.4 added it): a client offering
    /// 1.3 gets a TLS 1.2 handshake, one that insists on 1.3 none. (The other tests' servers
    /// name both protocols in `http`.)
    @Test func theDefaultProtocolsStopAtTLS12() throws {
        let server = try TestServer("""
            worker_processes 1;
            events {}
            http {
            \(Self.tlsServer("localhost", ["server"]))
            }
            """)
        #expect(Self.curl(server.port).hasPrefix("https on TLSv1.2 localhost"))
        #expect(Self.sClient(server.port, "").contains("Protocol  : TLSv1.2"))
        #expect(!Self.sClient(server.port, "-tls1_3").contains("https on"))
    }

    @Test func sniPicksTheServerAndItsCertificate() throws {
        let server = try Self.server(
            Self.tlsServer("localhost", ["server"]) + Self.tlsServer("a.test.example", ["a"], body: "return 200 'a $ssl_server_name $scheme $https\\n';")
                + Self.tlsServer("b.test.example", ["b"], body: "return 200 'b $ssl_server_name\\n';"))
        #expect(Self.curl(server.port).hasPrefix("https on TLSv1.3 localhost reused=. verify=NONE dn= worker=0"))
        #expect(Self.curl(server.port, host: "a.test.example") == "a a.test.example https on\n")
        #expect(Self.curl(server.port, host: "b.test.example") == "b b.test.example\n")
        // Each name gets its own certificate (curl verifies it against the name).
        #expect(Self.sClient(server.port, "-servername b.test.example").contains("subject=CN = b.test.example"))
        // An unknown name, or none, gets the default server's.
        let unknown = Self.sClient(server.port, "-servername nobody.example")
        #expect(unknown.contains("subject=CN = localhost") && unknown.contains("https on"))
        #expect(Self.sClient(server.port, "-noservername").contains("subject=CN = localhost"))
        // Plain HTTP on the TLS port is no request.
        #expect(server.get("/").status != 200)
    }

    @Test func rsaOrECDSAByTheClientsOffer() throws {
        let server = try Self.server(Self.tlsServer("localhost", ["server", "rsa-server"]))
        let ecdsa = Self.sClient(server.port, "-tls1_3 -sigalgs ECDSA+SHA256")
        #expect(ecdsa.contains("Server public key is 256 bit") && ecdsa.contains("Verify return code: 0 (ok)"))
        let rsa = Self.sClient(server.port, "-tls1_3 -sigalgs rsa_pss_rsae_sha256")
        #expect(rsa.contains("Server public key is 2048 bit") && rsa.contains("Verify return code: 0 (ok)"))
        #expect(Self.curl(server.port, "--tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256").hasPrefix("https on TLSv1.2"))
        let tls12 = Self.sClient(server.port, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(tls12.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256") && tls12.contains("https on TLSv1.2"))
    }

    @Test func protocolsCiphersAndServerPreference() throws {
        let server = try Self.server(Self.tlsServer(
            "localhost", ["server"], "ssl_protocols TLSv1.2; ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384; ssl_prefer_server_ciphers on;"))
        #expect(!Self.sClient(server.port, "-tls1_3").contains("https on"))
        let preferred = Self.sClient(server.port, "-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(preferred.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"))
        #expect(Self.curl(server.port).hasPrefix("https on TLSv1.2 localhost"))
    }

    /// Connections until each of `workers` workers has taken one (SO_REUSEPORT spreads them by
    /// the client's port), each resuming the session the first made; the answers.
    static func resumptions(_ port: Int, _ options: String, workers: Int = 2) -> [String] {
        let session = NSTemporaryDirectory() + "cosocket-session-\(getpid())-\(UUID().uuidString)"
        defer { unlink(session) }
        var answers = [sClient(port, options + " -sess_out \(session)")]
        var seen: Set<Substring> = []
        for _ in 0..<40 {
            let answer = sClient(port, options + " -sess_in \(session)")
            answers.append(answer)
            if let worker = answer.split(separator: "worker=").last?.prefix(1) { seen.insert(worker) }
            if seen.count == workers, answers.count > 4 { break }
        }
        return answers
    }

    @Test(arguments: ["ssl_session_cache shared:SSL:1m;", "ssl_session_cache builtin:1000 shared:SSL2:1m;", "ssl_session_cache builtin;"])
    func sessionsResumeFromTheCacheOnBothWorkers(_ cache: String) throws {
        let server = try Self.server(http: cache + " ssl_session_tickets off;", workers: 2, Self.tlsServer("localhost", ["server"]))
        for version in ["-tls1_2", "-tls1_3"] {
            let answers = Self.resumptions(server.port, version)
            #expect(answers[0].contains("reused=.") && answers[0].contains("\nNew, "))
            let later = answers.dropFirst()
            #expect(later.allSatisfy { $0.contains("reused=r") && $0.contains("\nReused, ") }, "\(version): \(later.map { $0.suffix(80) })")
            #expect(Set(later.compactMap { $0.split(separator: "worker=").last?.prefix(1) }).count == 2)
        }
    }

    @Test func ticketsResumeWithoutACacheAndNotWhenOff() throws {
        let server = try Self.server(http: "ssl_session_cache off;", workers: 2, Self.tlsServer("localhost", ["server"]))
        for version in ["-tls1_2", "-tls1_3"] {
            let answers = Self.resumptions(server.port, version)
            #expect(answers.dropFirst().allSatisfy { $0.contains("reused=r") }, "\(version)")
        }
        let off = try Self.server(http: "ssl_session_cache off; ssl_session_tickets off;", Self.tlsServer("localhost", ["server"]))
        let answers = Self.resumptions(off.port, "-tls1_2", workers: 1)
        #expect(answers[0].contains("reused=.") && answers.allSatisfy { !$0.contains("reused=r") && !$0.contains("\nReused, ") })
    }

    /// `ssl_session_ticket_key`: two servers with the same key files resume each other's
    /// tickets (48- and 80-byte keys); a server whose first key is another one renews them.
    @Test(arguments: [48, 80])
    func ticketKeyFilesAreSharedBetweenServers(_ size: Int) throws {
        let directory = makeTemporaryDirectory()
        let key = directory + "/ticket.key", other = directory + "/other.key"
        FileManager.default.createFile(atPath: key, contents: Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }))
        FileManager.default.createFile(atPath: other, contents: Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ 1) }))
        let first = try Self.server(http: "ssl_session_ticket_key \(key);", Self.tlsServer("localhost", ["server"]))
        let second = try Self.server(http: "ssl_session_ticket_key \(key);", Self.tlsServer("localhost", ["server"]))
        let rotated = try Self.server(http: "ssl_session_ticket_key \(other); ssl_session_ticket_key \(key);", Self.tlsServer("localhost", ["server"]))
        let stranger = try Self.server(http: "ssl_session_ticket_key \(other);", Self.tlsServer("localhost", ["server"]))
        let session = directory + "/session.pem"
        for version in ["-tls1_2", "-tls1_3"] {
            #expect(Self.sClient(first.port, "\(version) -sess_out \(session)").contains("reused=."))
            #expect(Self.sClient(second.port, "\(version) -sess_in \(session)").contains("reused=r"), "\(version)")
            #expect(Self.sClient(rotated.port, "\(version) -sess_in \(session)").contains("reused=r"), "\(version)")
            #expect(Self.sClient(stranger.port, "\(version) -sess_in \(session)").contains("reused=."), "\(version)")
        }
    }

    @Test func clientCertificatesRequiredOptionalAndWrong() throws {
        let clientCA = "ssl_client_certificate \(Self.cert("client-ca.pem"));"
        let server = try Self.server(
            Self.tlsServer("localhost", ["server"], clientCA + " ssl_verify_client on;")
                + Self.tlsServer("a.test.example", ["a"], clientCA + " ssl_verify_client optional;")
                + Self.tlsServer("b.test.example", ["b"], "ssl_verify_client optional_no_ca;"))
        let good = "--cert \(Self.cert("client.pem")) --key \(Self.cert("client.key"))"
        let wrong = "--cert \(Self.cert("other-client.pem")) --key \(Self.cert("other-client.key"))"
        #expect(Self.curl(server.port, good).contains("verify=SUCCESS dn=CN=cosocket client"))
        let missing = Self.curl(server.port, "-i")
        #expect(missing.hasPrefix("HTTP/1.1 400 Bad Request") && missing.contains("<center>No required SSL certificate was sent</center>"))
        let refused = Self.curl(server.port, "-i " + wrong)
        #expect(refused.hasPrefix("HTTP/1.1 400 Bad Request") && refused.contains("<center>The SSL certificate error</center>"))
        #expect(server.log.waitFor("client SSL certificate verify error: (21:unable to verify the first certificate) while reading client request headers"))
        #expect(server.log.contains("client sent no required SSL certificate while reading client request headers"))
        #expect(Self.curl(server.port, host: "a.test.example").contains("verify=NONE dn= "))
        #expect(Self.curl(server.port, host: "a.test.example", good).contains("verify=SUCCESS dn=CN=cosocket client"))
        #expect(Self.curl(server.port, host: "a.test.example", "-i " + wrong).contains("The SSL certificate error"))
        // optional_no_ca: a certificate no CA vouches for passes, its failure in the variable.
        #expect(Self.curl(server.port, host: "b.test.example", wrong).contains("verify=FAILED:unable to verify the first certificate dn=CN=other client"))
    }

    /// Whether the server ends the connection (a FIN or a reset) within five seconds.
    static func closedByServer(_ fd: Int32) -> Bool {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = recv(fd, &chunk, chunk.count, 0)
            if got == 0 { return true }
            if got < 0 { return errno == ECONNRESET }
        }
    }

    /// Clients that misbehave in the handshake: random bytes for a ClientHello, one that stops
    /// halfway, and 200 half-open connections; none keeps the worker from the next client.
    @Test func badHandshakesDoNotStopOtherClients() throws {
        let server = try Self.server(Self.tlsServer("localhost", ["server"]))
        var generator = SplitMix(seed: 19)
        for _ in 0..<20 {
            // A handshake record holding a ClientHello of 251 random bytes: an alert, then the close.
            let client = HTTPClient(port: server.port)
            let body = (0..<251).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            ScriptedListener.write(client.fd, [0x16, 0x03, 0x01, 0x00, 0xFF, 0x01, 0x00, 0x00, 0xFB] + body)
            #expect(Self.closedByServer(client.fd))
            client.close()
        }
        // ClientHellos cut short (or never begun), then nothing: the handshakes wait, others go on.
        var halfOpen: [HTTPClient] = []
        for index in 0..<200 {
            let client = HTTPClient(port: server.port)
            // A TLS record header announcing a 512-byte handshake, and part of it.
            if index % 2 == 0 { client.send("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}") }
            halfOpen.append(client)
        }
        let start = Date()
        #expect(Self.curl(server.port).hasPrefix("https on TLSv1.3"))
        #expect(Self.sClient(server.port, "-tls1_2").contains("https on TLSv1.2"))
        #expect(Date().timeIntervalSince(start) < 5)
        for client in halfOpen { client.close() }
        #expect(Self.curl(server.port).hasPrefix("https on"))
    }
}

/// The reference's `[emerg]` texts for HTTPS configurations it refuses (checked with
/// `ref-nginx -t`).
@Suite struct HTTPSConfigurationTests {
    static func error(_ server: String) -> String? {
        let text = "events {}\nhttp {\nserver {\nlisten 127.0.0.1:1 ssl;\n\(server)\n}\n}\n"
        do {
            let nodes = try ConfigParser(fileSystem: .inMemory(["/conf/nginx.conf": text])).parseFile("/conf/nginx.conf")
            _ = try ConfigurationBuilder(prefix: "/conf").build(nodes)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func refusals() {
        let pem = TLSCertificates.path("server.pem"), key = TLSCertificates.path("server.key")
        let pair = "ssl_certificate \(pem); ssl_certificate_key \(key);"
        #expect(Self.error("") == "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in /conf/nginx.conf:4")
        #expect(Self.error("ssl_certificate \(pem);") == "no \"ssl_certificate_key\" is defined for certificate \"\(pem)\"")
        #expect(Self.error("ssl_certificate /nonexistent.pem; ssl_certificate_key \(key);")?
            .hasPrefix("cannot load certificate \"/nonexistent.pem\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory") == true)
        #expect(Self.error("ssl_certificate \(pem); ssl_certificate_key \(TLSCertificates.path("other.key"));")
            == "SSL_CTX_use_PrivateKey(\"\(TLSCertificates.path("other.key"))\") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)")
        #expect(Self.error(pair + " ssl_session_cache shared:x;") == "invalid session cache \"shared:x\" in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_session_cache builtin:abc;") == "invalid session cache \"builtin:abc\" in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_verify_client maybe;") == "invalid value \"maybe\" in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_verify_client on;") == "no ssl_client_certificate for ssl_verify_client")
        #expect(Self.error(pair + " ssl_verify_client optional_no_ca;") == nil)
        #expect(Self.error(pair + " ssl_protocols TLSv9;") == "invalid value \"TLSv9\" in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_ciphers NOPE;") == "SSL_CTX_set_cipher_list(\"NOPE\") failed (SSL: error:0A0000B9:SSL routines::no cipher match)")
        #expect(Self.error(pair + " ssl_ecdh_curve nope;")
            == "SSL_CTX_set1_curves_list(\"nope\") failed (SSL: error:0A080106:SSL routines::passed invalid argument:group 'nope' cannot be set)")
        #expect(Self.error(pair + " ssl_session_ticket_key \(key);") == "\"\(key)\" must be 48 or 80 bytes")
        #expect(Self.error(pair + " ssl_conf_command Bogus x;") == "SSL_CONF_cmd(\"Bogus\", \"x\") failed (SSL: error:0A000182:SSL routines::unknown cmd name:cmd=Bogus)")
        #expect(Self.error(pair + " ssl_dhparam \(pem);")
            == "PEM_read_bio_DHparams(\"\(pem)\") failed (SSL: error:0480006C:PEM routines::no start line:Expecting: DH PARAMETERS)")
        #expect(Self.error(pair + " ssl_session_timeout abc;") == "\"ssl_session_timeout\" directive invalid value in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_verify_depth x;") == "\"ssl_verify_depth\" directive invalid number in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_session_tickets maybe;") == "invalid value \"maybe\" in \"ssl_session_tickets\" directive, it must be \"on\" or \"off\" in /conf/nginx.conf:5")
        #expect(Self.error(pair + " location / { ssl_ciphers HIGH; }") == "\"ssl_ciphers\" directive is not allowed here in /conf/nginx.conf:5")
        #expect(Self.error(pair + " ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache builtin:1000 shared:SSL:1m; ssl_ecdh_curve prime256v1:secp384r1; ssl_conf_command Options -SessionTicket;") == nil)
    }
}
