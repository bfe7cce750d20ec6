import CosocketCore
import CosocketLua
import NIOCore

/// Applies the `lua_socket_*` and `lua_package_*` directives of an `http {}` block (or of the
/// runner's `--http` options) to the engine's and the Lua VM's settings.
public enum LuaDirectives {
    /// Whether `name` is one of the directives handled here.
    public static func handles(_ name: String) -> Bool {
        name.hasPrefix("lua_socket_") || name == "lua_package_path" || name == "lua_package_cpath"
            || name == "lua_code_cache" || name == "lua_shared_dict" || name == "lua_regex_cache_max_entries" || name == "lua_regex_match_limit"
            || name == "lua_max_pending_timers" || name == "lua_max_running_timers" || name == "resolver" || name == "resolver_timeout"
            || name == "lua_system_resolver"
            || LuaSSLDirectives.handles(name)
    }

    /// `$prefix` and `${prefix}` in a search path: the server prefix (`-p`) with its trailing
    /// slash, as nginx keeps it.
    static func expandingPrefix(_ path: String, _ prefix: String) -> String {
        guard path.contains("$") else { return path }
        let directory = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        return path.replacing("${prefix}", with: directory).replacing("$prefix", with: directory)
    }

    public static func apply(
        _ node: ConfigNode,
        engine: inout EngineConfiguration,
        lua: inout LuaConfiguration,
        prefix: String = ""
    ) throws(ConfigError) {
        if LuaSSLDirectives.handles(node.name) { return try LuaSSLDirectives.apply(node, to: &engine.tls, prefix: prefix) }
        if node.name == "resolver" {
            engine.resolver = try ResolverDirective.parse(node)
            return
        }
        if node.name == "lua_shared_dict" { return try applySharedDict(node, lua: &lua) }
        if isSocketDirective(node.name) { return try applySocket(node, to: &engine) }
        guard node.arguments.count == 1 else { throw node.error(.invalidArgumentCount(node.name)) }
        let value = node.arguments[0]
        switch node.name {
        case "lua_package_path": lua.packagePath = expandingPrefix(value, prefix)
        case "lua_package_cpath": lua.packageCPath = expandingPrefix(value, prefix)
        case "lua_code_cache": lua.codeCache = value != "off"
        case "lua_regex_cache_max_entries", "lua_regex_match_limit":
            guard let number = Int(value), number >= 0 else { throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\"")) }
            if node.name == "lua_regex_match_limit" { lua.regexMatchLimit = number } else { lua.regexCacheMaxEntries = number }
        case "lua_system_resolver":
            // Ours (see the README's differences): off restores the reference's refusal of
            // names without a `resolver`.
            engine.systemResolver = try flag(node, value)
        case "resolver_timeout":
            do {
                engine.resolverTimeout = .milliseconds(Int64(try ConfigUnits.milliseconds(value)))
            } catch {
                throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\""))
            }
        case "lua_max_pending_timers", "lua_max_running_timers":
            guard let number = Int(value), number >= 0 else { throw node.error(.directive(name: node.name, message: "invalid number \"\(value)\"")) }
            if node.name == "lua_max_pending_timers" { lua.maxPendingTimers = number } else { lua.maxRunningTimers = number }
        default: throw node.error(.unknownDirective(node.name))
        }
    }

    /// The `lua_socket_*` directives, which nginx takes at every level (http, server,
    /// location, location if) and merges downwards.
    public static func isSocketDirective(_ name: String) -> Bool {
        name.hasPrefix("lua_socket_")
    }

    /// Applies one `lua_socket_*` directive to `engine`.
    public static func applySocket(_ node: ConfigNode, to engine: inout EngineConfiguration) throws(ConfigError) {
        guard node.arguments.count == 1 else { throw node.error(.invalidArgumentCount(node.name)) }
        let value = node.arguments[0]
        func milliseconds() throws(ConfigError) -> TimeAmount {
            do {
                return .milliseconds(Int64(try ConfigUnits.milliseconds(value)))
            } catch {
                throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\""))
            }
        }
        switch node.name {
        case "lua_socket_connect_timeout": engine.connectTimeout = try milliseconds()
        case "lua_socket_send_timeout": engine.sendTimeout = try milliseconds()
        case "lua_socket_read_timeout": engine.readTimeout = try milliseconds()
        case "lua_socket_keepalive_timeout": engine.keepaliveTimeout = try milliseconds()
        case "lua_socket_buffer_size":
            do {
                engine.bufferSize = max(1, try ConfigUnits.size(value))
            } catch {
                throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\""))
            }
        case "lua_socket_pool_size":
            guard let size = Int(value), size > 0 else { throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\"")) }
            engine.poolSize = size
        case "lua_socket_log_errors":
            guard value == "on" || value == "off" else { throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\"")) }
            engine.logErrors = value == "on"
        case "lua_socket_connect_fallback":
            // Ours (see the README's differences): off restores the reference's one address
            // picked at random.
            engine.connectFallback = try flag(node, value)
        default: throw node.error(.unknownDirective(node.name))
        }
    }

    /// An `on|off` directive's value, refused in nginx's words for a flag.
    private static func flag(_ node: ConfigNode, _ value: String) throws(ConfigError) -> Bool {
        switch value {
        case "on": return true
        case "off": return false
        default: throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\", it must be \"on\" or \"off\""))
        }
    }

    /// `lua_shared_dict NAME SIZE` (ngx_http_lua_shared_dict): sizes below two pages are
    /// refused as nginx refuses them; one that cannot hold the zone's own header fails here,
    /// where nginx fails at start.
    private static func applySharedDict(_ node: ConfigNode, lua: inout LuaConfiguration) throws(ConfigError) {
        guard node.arguments.count == 2 else { throw node.error(.invalidArgumentCount(node.name)) }
        let name = node.arguments[0]
        let sizeText = node.arguments[1]
        guard !name.isEmpty else { throw node.error(.other("invalid lua shared dict name \"\(name)\"")) }
        guard let size = try? ConfigUnits.size(sizeText), size > 8191 else {
            throw node.error(.other("invalid lua shared dict size \"\(sizeText)\""))
        }
        // nginx maps the zone at start; beyond 1 TiB it gets no such mapping here.
        guard size <= 1 << 40 else {
            throw node.error(.other("mmap(MAP_ANON|MAP_SHARED, \(size)) failed (12: Cannot allocate memory)"))
        }
        if lua.sharedDicts.contains(where: { $0.name == name }) {
            throw node.error(.other("lua_shared_dict \"\(name)\" is already defined as \"\(name)\""))
        }
        guard SharedDictStore(size: size, name: name) != nil else {
            throw node.error(.other("ngx_slab_alloc() failed: no memory in lua_shared_dict zone \"\(name)\""))
        }
        lua.sharedDicts.append(SharedDictDeclaration(name: name, size: size))
    }
}
