import ArgumentParser
import CosocketCore
import CosocketLua
import CosocketServer

#if canImport(Glibc)
import Glibc
#endif

/// `cosocket -p PREFIX -c CONF [-t] [-g 'directives;']`: serve an nginx.conf, like `nginx`.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve an nginx.conf (the default command).")

    @Option(name: .customShort("p"), help: "The prefix path (relative paths start here).")
    var prefix: String = "."

    @Option(name: .customShort("c"), help: "The configuration file.")
    var configurationFile: String = "conf/nginx.conf"

    @Option(name: .customShort("g"), help: "Extra main-level directives, e.g. 'worker_processes 2;'.")
    var globalDirectives: String?

    @Flag(name: .customShort("t"), help: "Test the configuration and exit.")
    var test = false

    @Flag(name: .customShort("v"), help: "Show the version and exit.")
    var version = false

    func run() throws {
        if version {
            print("cosocket version 0.1 (lua-nginx-module 0.10.23 API)")
            return
        }
        let path = configurationFile.hasPrefix("/") ? configurationFile : prefix + "/" + configurationFile
        let configuration: ServerConfiguration
        do {
            var nodes = try ConfigParser(prefix: prefix).parseFile(path)
            if let globalDirectives { nodes += try ConfigParser(prefix: prefix).parse(globalDirectives, file: "command line") }
            configuration = try ConfigurationBuilder(prefix: prefix).build(nodes)
        } catch {
            printError("cosocket: [emerg] \(error)")
            throw ExitCode(1)
        }
        for (name, position) in configuration.ignored {
            printError("cosocket: [warn] \"\(name)\" is accepted and ignored in \(position)")
        }
        if test {
            printError("cosocket: the configuration file \(path) syntax is ok\ncosocket: configuration file \(path) test is successful")
            return
        }
        let logPath = configuration.errorLogPath.map { $0.hasPrefix("/") || $0 == "stderr" ? $0 : prefix + "/" + $0 }
        let server = HTTPServer(configuration: configuration, errorLog: ErrorLogFile(path: logPath, level: configuration.errorLogLevel))
        try server.start()
        try server.wait()
    }

    private func printError(_ text: String) {
        var line = text + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}
