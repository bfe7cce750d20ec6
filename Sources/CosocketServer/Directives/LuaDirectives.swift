import CosocketCore
import CosocketLua
import NIOCore

/// Applies the `lua_socket_*` and `lua_package_*` directives of an `http {}` block (or of the
/// runner's `--http` options) to the engine's and the Lua VM's settings.
public enum LuaDirectives {
    /// Whether `name` is one of the directives handled here.
    public static func handles(_ name: String) -> Bool {
        name.hasPrefix("lua_socket_") || name == "lua_package_path" || name == "lua_package_cpath"
            || name == "lua_code_cache" || name == "resolver" || name == "resolver_timeout"
    }

    public static func apply(
        _ node: ConfigNode,
        engine: inout EngineConfiguration,
        lua: inout LuaConfiguration
    ) throws(ConfigError) {
        if node.name == "resolver" {
            engine.resolver = try ResolverDirective.parse(node)
            return
        }
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
        case "resolver_timeout": engine.resolverTimeout = try milliseconds()
        case "lua_package_path": lua.packagePath = value
        case "lua_package_cpath": lua.packageCPath = value
        case "lua_code_cache": lua.codeCache = value != "off"
        default: throw node.error(.unknownDirective(node.name))
        }
    }
}
