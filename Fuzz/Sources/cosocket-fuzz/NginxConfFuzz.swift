import CosocketServer

/// The nginx.conf lexer and parser, then the configuration builder (every directive's
/// argument parsing: sizes, times, flags, listen addresses, locations, regexes), on a file's
/// bytes. An `include` can reach two small in-memory files (not the file itself: a file that
/// includes itself twice is exponential in nginx too, and is the operator's, not a peer's).
/// Checks: nothing traps, and every node's lines lie within the file.
enum NginxConfFuzz: FuzzTarget {
    static func run(_ input: [UInt8]) {
        let files = ConfigFileSystem.inMemory(bytes: [
            "/fuzz/conf/server.conf": Array("server { listen 127.0.0.1:8080; location / { return 200; } }\n".utf8),
            "/fuzz/conf/mime.types": Array("types { text/html html; }\n".utf8),
        ])
        let parser = ConfigParser(fileSystem: files, prefix: "/fuzz/")
        let nodes: [ConfigNode]
        do {
            nodes = try parser.parse(bytes: input, file: "/fuzz/conf/nginx.conf")
        } catch {
            _ = error.description
            return
        }
        let lines = 1 + input.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        check(nodes, lines: lines)
        let builder = ConfigurationBuilder(prefix: "/fuzz/", readFile: { _ in nil })
        do {
            _ = try builder.build(nodes)
        } catch {
            _ = error.description
        }
    }

    static func check(_ nodes: [ConfigNode], lines: Int) {
        for node in nodes {
            if node.file == "/fuzz/conf/nginx.conf" {
                fuzzCheck(node.startLine >= 1 && node.startLine <= node.line && node.line <= lines, "\(node.name) at lines \(node.startLine)-\(node.line) of \(lines)")
            }
            if let children = node.children { check(children, lines: lines) }
        }
    }
}
