import CLuaJIT
import CosocketCore
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Runs a Lua script the way OpenResty's `resty` command does: in a coroutine with the full
/// cosocket API, `ngx.say`/`ngx.print` writing to stdout, errors and `ngx.log` on stderr.
public enum ScriptRunner {
    /// Runs `source` to completion (its light threads included) and returns the exit status:
    /// the `ngx.exit` status, 1 after an uncaught error, else 0.
    public static func run(
        source: [UInt8],
        chunkName: String,
        scriptName: String,
        arguments: [String],
        engineConfiguration: EngineConfiguration = EngineConfiguration(),
        luaConfiguration: LuaConfiguration = LuaConfiguration()
    ) -> Int32 {
        var luaConfiguration = luaConfiguration
        if luaConfiguration.sharedDictZones.isEmpty {
            luaConfiguration.sharedDictZones = (try? SharedDictZones().attach(luaConfiguration.sharedDicts)) ?? [:]
        }
        let group = CosocketEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.group.next()
        let engine = CosocketEngine(eventLoop: loop, configuration: engineConfiguration)
        CosocketEngine.register(engine)
        let finished = loop.makePromise(of: Int32.self)
        let output = StandardOutput()
        let log = StandardErrorLog()
        loop.execute { [luaConfiguration] in
            let worker: LuaWorker
            do {
                worker = try LuaWorker(engine: engine, configuration: luaConfiguration, errorLog: log)
            } catch {
                log.write("\(error)\n")
                finished.succeed(1)
                return
            }
            let reference: Int32
            do {
                reference = try worker.load(source, chunkName: chunkName)
            } catch {
                log.write("\(error)\n")
                finished.succeed(1)
                return
            }
            setArguments(worker.state, scriptName: scriptName, arguments: arguments)
            let context = LuaContext(kind: .script)
            context.output = output
            context.delegate = ScriptCompletion { context in
                output.flush()
                finished.succeed(context.failure != nil ? 1 : Int32(truncatingIfNeeded: context.exitStatus ?? 0))
            }
            log.onEntryError = { traceback in log.write(traceback + "\n") }
            worker.start(reference, in: context, arguments: arguments)
            // The closure holds the worker (and its VM) until the script has ended.
            finished.futureResult.whenComplete { _ in worker.shutdown() }
        }
        let status = (try? finished.futureResult.wait()) ?? 1
        output.flush()
        return status
    }

    private static func setArguments(_ L: LuaState, scriptName: String, arguments: [String]) {
        lua_createtable(L, Int32(arguments.count), 1)
        luaPushString(L, scriptName)
        lua_rawseti(L, -2, 0)
        for (index, argument) in arguments.enumerated() {
            luaPushString(L, argument)
            lua_rawseti(L, -2, Int32(index + 1))
        }
        lua_setfield(L, luaGlobalsIndex, "arg")
    }
}

/// Reports the end of a script's context.
final class ScriptCompletion: LuaContextDelegate {
    private let finished: (LuaContext) -> Void

    init(_ finished: @escaping (LuaContext) -> Void) {
        self.finished = finished
    }

    func luaContextPhaseEnded(_ context: LuaContext) -> Bool { false }

    func luaContextFinished(_ context: LuaContext) { finished(context) }
}

/// Buffered stdout for `ngx.say` in scripts (written from the runner's one event loop, then
/// flushed once it has ended).
final class StandardOutput: LuaOutput, @unchecked Sendable {
    private var buffer: [UInt8] = []
    private var ended = false
    private(set) var headersSent = false
    var luaWroteOutput: Bool { headersSent }
    let isHeadRequest = false

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !ended else { return false }
        buffer.append(contentsOf: bytes)
        if buffer.count >= 64 * 1024 { flush() }
        return true
    }

    /// Writes are synchronous here, so `ngx.flush(true)` never waits.
    func flush(whenWritten: (() -> Void)?) -> LuaFlushResult {
        guard !ended else { return .ended }
        flush()
        return .done
    }

    func flush() {
        headersSent = true
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { writeAll(1, $0) }
        buffer.removeAll(keepingCapacity: true)
    }

    func sendHeaders() { headersSent = true }

    func endOutput() -> Bool {
        guard !ended else { return false }
        flush()
        ended = true
        return true
    }
}

/// The runner's error log: nginx-formatted lines on stderr, except that an uncaught error in
/// the script is printed bare with its traceback, as `resty` does.
/// Used from the runner's one event loop only.
final class StandardErrorLog: LuaErrorLog, @unchecked Sendable {
    var onEntryError: ((String) -> Void)?
    private let lines: ErrorLogFile

    init(level: LuaLogLevel = .debug) {
        lines = ErrorLogFile(path: nil, level: level)
    }

    func log(_ level: LuaLogLevel, _ message: String) {
        let prefix = "lua entry thread aborted: runtime error: "
        if message.hasPrefix(prefix), let onEntryError {
            onEntryError(String(message.dropFirst(prefix.count)))
            return
        }
        lines.log(level, message)
    }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}

/// Writes every byte to a file descriptor, retrying short writes.
func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written <= 0 { return }
        offset += written
    }
}
