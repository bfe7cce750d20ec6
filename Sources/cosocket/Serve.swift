import ArgumentParser
import CosocketCore
import CosocketLua
import CosocketServer
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// `cosocket -p PREFIX -c CONF [-t] [-g 'directives;'] [-s stop|quit|reload]`, like `nginx`.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve an nginx.conf (the default command).")

    @Option(name: .customShort("p"), help: "The prefix path (relative paths start here).")
    var prefix: String = "."

    @Option(name: .customShort("c"), help: "The configuration file.")
    var configurationFile: String = "conf/nginx.conf"

    @Option(name: .customShort("g"), help: "Extra main-level directives, e.g. 'worker_processes 2;'.")
    var globalDirectives: String?

    @Option(name: .customShort("s"), help: "Send a signal to the running server: stop, quit or reload.")
    var signal: ServerSignal?

    @Flag(name: .customShort("t"), help: "Test the configuration and exit.")
    var test = false

    @Flag(name: .customShort("v"), help: "Show the version and exit.")
    var version = false

    @Flag(name: .customShort("V"), help: "Show the version, the TLS library and the nginx modules built in, and exit.")
    var versionAndModules = false

    /// The nginx release whose behaviour the host follows, in nginx's words: tools that drive
    /// nginx (Test::Nginx among them) read the version from this line, on stderr as nginx has it.
    static let versionLine = "nginx version: nginx/1.22.1 (cosocket/0.1, lua-nginx-module 0.10.23 API)"

    func run() throws {
        if version || versionAndModules {
            printError(Self.versionLine)
            if versionAndModules {
                printError("built with \(TLSLibraryVersion.text)")
                printError("TLS SNI support enabled")
                // What nginx's own build would need for the modules built in here.
                printError("configure arguments: " + LuaConfiguration.configureArguments)
            }
            return
        }
        let path = configurationFile.hasPrefix("/") ? configurationFile : prefix + "/" + configurationFile
        let configuration = try load(path)
        if let signal {
            try send(signal, pidPath: pidPath(configuration))
            return
        }
        if test {
            let server = HTTPServer(configuration: configuration, errorLog: ErrorLogFile(path: "stderr", level: configuration.errorLogLevel))
            defer { server.stop() }
            do {
                try server.checkInitPhase()
            } catch {
                printError("cosocket: [error] \(error)")
                printError("cosocket: configuration file \(path) test failed")
                throw ExitCode(1)
            }
            printError("cosocket: the configuration file \(path) syntax is ok\ncosocket: configuration file \(path) test is successful")
            return
        }
        try serve(configuration, reloadingFrom: path)
    }

    private func load(_ path: String) throws -> ServerConfiguration {
        let configuration: ServerConfiguration
        do {
            var nodes = try ConfigParser(prefix: prefix).parseFile(path)
            if let globalDirectives { nodes += try ConfigParser(prefix: prefix).parse(globalDirectives, file: "command line") }
            var builder = ConfigurationBuilder(prefix: prefix)
            builder.confPrefix = ConfigParser.confPrefix(prefix: prefix, mainFile: path)
            configuration = try builder.build(nodes)
        } catch {
            printError("cosocket: [emerg] \(error)")
            throw ExitCode(1)
        }
        for (name, position) in configuration.ignored {
            printError("cosocket: [warn] \"\(name)\" is accepted and ignored in \(position)")
        }
        return configuration
    }

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") || path == "stderr" ? path : prefix + "/" + path
    }

    private func pidPath(_ configuration: ServerConfiguration) -> String {
        resolve(configuration.pidPath ?? "logs/nginx.pid")
    }

    /// Serves until `quit` or `stop`: SIGQUIT finishes the requests in progress, SIGTERM and
    /// SIGINT stop at once, SIGHUP reloads the configuration file.
    private func serve(_ configuration: ServerConfiguration, reloadingFrom path: String) throws {
        // Before any thread exists (the server's loops start below), as nginx daemonizes
        // before it starts its workers.
        if configuration.daemon == true, !Self.daemonize() { throw ExitCode(1) }
        let errorLog = ErrorLogFile(path: configuration.errorLogPath.map(resolve), level: configuration.errorLogLevel)
        let server = HTTPServer(configuration: configuration, errorLog: errorLog)
        let signals = SignalHandlers(label: "cosocket.signals")
        signals.on(SIGQUIT, stops: true) { server.quit() }
        signals.on(SIGTERM, stops: true) { server.stop() }
        signals.on(SIGINT, stops: true) { server.stop() }
        signals.on(SIGHUP) {
            do {
                let fresh = try load(path)
                try server.reload(fresh)
                errorLog.log(.notice, "reconfiguring: \(path) reloaded")
            } catch {
                errorLog.log(.alert, "reload failed, the old configuration stays: \(error)")
            }
        }
        do {
            try server.start()
        } catch let error as InitByLuaError {
            signals.cancel()
            errorLog.log(.error, error.description)
            printError("cosocket: [error] \(error)")
            throw ExitCode(1)
        } catch {
            signals.cancel()
            throw error
        }
        let pidFile = pidPath(configuration)
        let pidWritten = PIDFile.write(getpid(), to: pidFile)
        if !pidWritten { printError("cosocket: [warn] could not write the pid file \(pidFile); -s will not find this server") }
        signals.activate()
        server.wait()
        signals.cancel()
        if pidWritten { unlink(pidFile) }
    }

    /// nginx's `daemon on`: the command returns at once and the server goes on in a child
    /// that has left the session and the terminal. `false` when fork fails (reported).
    private static func daemonize() -> Bool {
        let child = fork()
        if child < 0 {
            printError("cosocket: [emerg] fork() failed (\(errno): \(String(cString: strerror(errno))))")
            return false
        }
        if child > 0 { Glibc.exit(0) }
        _ = setsid()
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            _ = dup2(null, 0)
            _ = dup2(null, 1)
            if null > 2 { close(null) }
        }
        return true
    }

    private func send(_ signal: ServerSignal, pidPath: String) throws {
        guard let pid = PIDFile.read(pidPath) else {
            printError("cosocket: [error] invalid PID number \"\" in \"\(pidPath)\"")
            throw ExitCode(1)
        }
        guard kill(pid, signal.number) == 0 else {
            printError("cosocket: [alert] kill(\(pid), \(signal.number)) failed (\(errno): \(String(cString: strerror(errno))))")
            throw ExitCode(1)
        }
    }
}

/// The signals `-s` sends, as nginx maps them.
enum ServerSignal: String, ExpressibleByArgument, CaseIterable {
    case stop, quit, reload

    var number: Int32 {
        switch self {
        case .stop: return SIGTERM
        case .quit: return SIGQUIT
        case .reload: return SIGHUP
        }
    }
}

/// The pid file `-s` reads to find the server.
enum PIDFile {
    static func write(_ pid: pid_t, to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let text = "\(pid)\n"
        return text.withCString { Glibc.write(descriptor, $0, strlen($0)) } == text.utf8.count
    }

    static func read(_ path: String) -> pid_t? {
        guard let bytes = FileContents.read(path) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(whereSeparator: { $0.isWhitespace }).first.flatMap { pid_t($0) }
    }
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
