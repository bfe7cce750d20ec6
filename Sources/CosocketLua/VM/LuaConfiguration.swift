/// The Lua settings of a worker: the `lua_*` directives that are not about sockets.
public struct LuaConfiguration: Sendable {
    /// `lua_package_path`; `;;` stands for the default path, as in nginx.
    public var packagePath: String?
    /// `lua_package_cpath`.
    public var packageCPath: String?
    /// The error log's level filter (`error_log file level`).
    public var logLevel: LuaLogLevel = .error
    /// `lua_code_cache`: compiled chunks are cached (always on here).
    public var codeCache = true
    /// `master_process` (on in the server by default): `require("ngx.process").type()` then
    /// says `worker` (`master` in init_by_lua), else `single` (also the runner's).
    public var masterProcess = false
    /// `ngx.worker.count()`.
    public var workerCount = 1
    /// `lua_regex_cache_max_entries`: compiled `o` patterns kept per worker.
    public var regexCacheMaxEntries = 1024
    /// `lua_regex_match_limit`: PCRE2's match limit; 0 keeps its default.
    public var regexMatchLimit = 0
    /// `lua_max_pending_timers`: timers waiting to expire, per worker (nginx's default 1024).
    public var maxPendingTimers = 1024
    /// `lua_max_running_timers`: timer callbacks running at once, per worker (default 256).
    public var maxRunningTimers = 256
    /// `thread_pool NAME threads=N max_queue=M`, by name; nginx's `default` pool (32 threads)
    /// is there unless redefined.
    public var threadPools: [String: (threads: Int, maximumQueue: Int)] = ["default": (32, 65536)]
    /// The pools a `thread_pool` directive declared (a second one of a name is refused).
    public var threadPoolsDeclared: Set<String> = []
    /// What `os.getenv` sees: nil passes the process's environment through (the runner); the
    /// server sets it as nginx's `env` directives do (`TZ` and the names they list, with the
    /// values they give), since nginx clears the rest from its workers' environment.
    public var environment: [String: String]?
    /// `lua_shared_dict` directives, in order.
    public var sharedDicts: [SharedDictDeclaration] = []
    /// The zones behind `ngx.shared`, shared by all workers: the host attaches them
    /// (``SharedDictZones/attach(_:)``) before it creates the workers.
    public var sharedDictZones: [String: SharedDict] = [:]

    /// The default `package.path`, which includes Debian's system Lua module directory where the
    /// `lua-nginx-*` packages install.
    public static let defaultPackagePath =
        "./?.lua;/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
    public static let defaultPackageCPath =
        "./?.so;/usr/local/lib/lua/5.1/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;/usr/lib/lua/5.1/?.so"

    public init() {}

    /// Resolves a configured path: `;;` is replaced by the default path, as nginx does.
    static func resolve(_ configured: String?, default defaultPath: String) -> String {
        guard let configured else { return defaultPath }
        return configured.split(separator: ";;", omittingEmptySubsequences: false).joined(separator: ";" + defaultPath + ";")
    }
}

/// nginx's error-log levels, most severe first.
public enum LuaLogLevel: Int, Sendable, CaseIterable, Comparable {
    case stderr = 0, emerg, alert, crit, error, warn, notice, info, debug

    public var name: String {
        switch self {
        case .stderr: return "stderr"
        case .emerg: return "emerg"
        case .alert: return "alert"
        case .crit: return "crit"
        case .error: return "error"
        case .warn: return "warn"
        case .notice: return "notice"
        case .info: return "info"
        case .debug: return "debug"
        }
    }

    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = level
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where `ngx.log` and runtime errors go; the host formats and stores the lines.
public protocol LuaErrorLog: AnyObject {
    func log(_ level: LuaLogLevel, _ message: String)
}
