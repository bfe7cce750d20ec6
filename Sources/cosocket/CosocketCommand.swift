import ArgumentParser
import CosocketCore
import CosocketLua
import CosocketServer

#if canImport(Glibc)
import Glibc
#endif

@main
struct CosocketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cosocket",
        abstract: "OpenResty's cosocket system in Swift.",
        subcommands: [Serve.self, Run.self, Demo.self],
        defaultSubcommand: Serve.self
    )
}

/// `cosocket run script.lua [args]` / `cosocket run -e 'code'`, like OpenResty's `resty`.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a Lua script with the cosocket API, like `resty`.")

    @Option(name: .customLong("http"), help: "An http-level directive, e.g. 'lua_socket_read_timeout 100ms;'.")
    var httpDirectives: [String] = []

    @Option(name: .short, help: "Lua code to run instead of a script file.")
    var e: String?

    @Argument(parsing: .captureForPassthrough, help: "The script file, then its arguments.")
    var rest: [String] = []

    func run() throws {
        var engine = EngineConfiguration()
        var lua = LuaConfiguration()
        lua.logLevel = .warn
        if !httpDirectives.isEmpty {
            do {
                for node in try ConfigParser().parse(httpDirectives.joined(separator: "\n"), file: "--http") {
                    try LuaDirectives.apply(node, engine: &engine, lua: &lua)
                }
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let source: [UInt8]
        let chunkName: String
        let scriptName: String
        var arguments = rest
        if let e {
            source = Array(e.utf8)
            chunkName = "=(command line)"
            scriptName = "-e"
        } else {
            guard let path = arguments.first else { throw ValidationError("a script file or -e CODE is required") }
            arguments.removeFirst()
            guard let contents = FileContents.read(path) else { throw ValidationError("cannot open \(path)") }
            source = contents
            chunkName = "@" + path
            scriptName = path
        }
        let status = ScriptRunner.run(
            source: source,
            chunkName: chunkName,
            scriptName: scriptName,
            arguments: arguments,
            engineConfiguration: engine,
            luaConfiguration: lua
        )
        throw ExitCode(status)
    }
}
