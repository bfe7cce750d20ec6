import CosocketCore
import CosocketLua
#if canImport(Glibc)
import Glibc
#endif

/// Turns the parsed `nginx.conf` tree into a ``ServerConfiguration``: checks each directive
/// in its context, applies nginx's inheritance (http → server → location), and rejects
/// unknown directives with nginx's words and position.
public struct ConfigurationBuilder {
    /// Where relative paths (`*_by_lua_file`) start: nginx's prefix.
    public var prefix: String
    /// Reads `*_by_lua_file` sources.
    public var readFile: (String) -> [UInt8]?
    /// The configuration's directory (nginx's conf_prefix, see ``ConfigParser/confPrefix(prefix:mainFile:)``),
    /// which chunk names of included files are relative to.
    public var confPrefix: String?

    private let sourceNumbers = SourceNumbering()
    private let upstreams = UpstreamTable()

    /// Hands out ``LuaSource`` ids while the (value-typed) builder walks the tree.
    private final class SourceNumbering {
        var next = 0
    }

    public init(prefix: String, readFile: @escaping (String) -> [UInt8]? = FileContents.read) {
        self.prefix = prefix
        self.readFile = readFile
    }

    private struct Inherited {
        var rewrite: LuaSource?
        var access: LuaSource?
        var log: LuaSource?
        var headerFilter: LuaSource?
        var bodyFilter: LuaSource?
        var filterYield = true
        var defaultType = "text/plain"
        var types = LocationConfiguration.builtInTypes
        var clientMaxBodySize = 1 << 20
        var clientBodyBufferSize = 16 * 1024
        var clientBodyTempPath: String?
        var clientBodyTimeout = 60
        var keepaliveTimeout = 75
        var keepaliveRequests = 1000
        var sendTimeout = 60
        var headLimits = RequestHeadLimits()
        var checkClientAbort = false
        var transformUnderscores = true
        var absoluteRedirect = true
        var serverTokens = true
        var staticRoot: String?
        var indexFiles = ["index.html"]
        var outputHeaderEdits: [HeaderEdit] = []
        var inputHeaderEdits: [HeaderEdit] = []
        var socketDefaults = EngineConfiguration()
        /// A server or location set a `lua_socket_*` of its own.
        var setsSocketDefaults = false
        /// This level has `lua_ssl_conf_command`s of its own: they replace the outer level's
        /// list instead of adding to it, as nginx merges array directives.
        var ownsLuaSSLConfCommands = false
        /// This level has `add_header`s of its own (they replace the outer level's).
        var ownsAddedHeaders = false
        var ownsAccessRules = false
        var proxy = ProxySettings()
        var ownsProxyHeaders = false
        /// `auth_request uri`, as an access handler that runs before `access_by_lua*`.
        var authRequest: LuaSource?
        var accessRules: [AccessRule] = []
        /// This level has `error_page`s of its own (they replace the outer level's).
        var ownsErrorPages = false
        var errorPages: [ErrorPage] = []
        var recursiveErrorPages = false
        var expires: Expires?
        var addedHeaders: [AddedHeader] = []
        /// `ssl_*` (http and server).
        var ssl = SSLServerDirectives.Settings()
        /// `ssl_client_hello_by_lua*` (http and server).
        var sslClientHello: LuaSource?
        /// `ssl_certificate_by_lua*` (http and server: the reference's README says server, its
        /// code takes http too and every server inherits it).
        var sslCertificate: LuaSource?
    }

    /// A server's TLS side while the configuration is built: its `ssl_*` settings and the
    /// `listen ... ssl` directives it has, by address.
    private struct PendingTLS {
        var server: VirtualServer
        var settings: SSLServerDirectives.Settings
        var sslListens: [ListenAddress: ConfigNode]
        /// The server's handshake hooks (`ssl_certificate_by_lua*`, `ssl_client_hello_by_lua*`).
        var lua: TLSServerLua
    }

    /// `thread_pool NAME threads=N [max_queue=M]` (main), with nginx's refusals; a pool named
    /// `default` replaces nginx's built-in one.
    private func threadPool(_ node: ConfigNode, into lua: inout LuaConfiguration) throws(ConfigError) {
        guard node.arguments.count >= 2 else { throw node.error(.invalidArgumentCount(node.name)) }
        let name = node.arguments[0]
        if lua.threadPools[name] != nil, name != "default" || lua.threadPoolsDeclared.contains(name) {
            throw node.error(.invalid("duplicate thread pool \"\(name)\""))
        }
        var threads = 0
        var maximumQueue = 65536
        for argument in node.arguments.dropFirst() {
            if argument.hasPrefix("threads=") {
                guard let value = Int(argument.dropFirst(8)), value > 0 else { throw node.error(.invalid("invalid threads value \"\(argument)\"")) }
                threads = value
            } else if argument.hasPrefix("max_queue=") {
                guard let value = Int(argument.dropFirst(10)), value >= 0 else { throw node.error(.invalid("invalid max_queue value \"\(argument)\"")) }
                maximumQueue = value
            }
        }
        guard threads > 0 else { throw node.error(.invalid("\"\(node.name)\" must have \"threads\" parameter")) }
        lua.threadPools[name] = (threads, maximumQueue)
        lua.threadPoolsDeclared.insert(name)
    }

    public func build(_ nodes: [ConfigNode]) throws(ConfigError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        // nginx's workers keep `TZ` and what `env` lists of the environment.
        configuration.lua.environment = getenv("TZ").map { ["TZ": String(cString: $0)] } ?? [:]
        configuration.lua.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        for node in nodes {
            switch node.name {
            case "env":
                let entry = try single(node)
                if let equals = entry.firstIndex(of: "=") {
                    configuration.lua.environment?[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
                } else if let value = getenv(entry) {
                    configuration.lua.environment?[entry] = String(cString: value)
                }
            case "worker_processes":
                let value = try single(node)
                if value == "auto" {
                    configuration.workerProcesses = System.coreCount
                } else if let count = Int(value), count > 0 {
                    configuration.workerProcesses = count
                } else {
                    throw node.error(.directive(name: node.name, message: "invalid value \"\(value)\""))
                }
            case "error_log":
                guard (1...2).contains(node.arguments.count) else { throw node.error(.invalidArgumentCount(node.name)) }
                configuration.errorLogPath = node.arguments[0]
                if node.arguments.count == 2 {
                    guard let level = LuaLogLevel(name: node.arguments[1]) else {
                        throw node.error(.directive(name: node.name, message: "invalid log level \"\(node.arguments[1])\""))
                    }
                    configuration.errorLogLevel = level
                }
            case "thread_pool":
                try threadPool(node, into: &configuration.lua)
            case "pid": configuration.pidPath = try single(node)
            case "daemon": configuration.daemon = try flag(node)
            case "master_process": configuration.masterProcess = try flag(node)
            case "events":
                for child in try block(node) {
                    if child.name == "worker_connections" {
                        guard let count = Int(try single(child)) else { throw child.error(.invalidArgumentCount(child.name)) }
                        configuration.workerConnections = count
                    } else {
                        try ignoreOrReject(child, in: .events, &configuration)
                    }
                }
            case "http":
                try buildHTTP(try block(node), into: &configuration)
            default:
                try ignoreOrReject(node, in: .main, &configuration)
            }
        }
        configuration.luaSourceCount = sourceNumbers.next
        configuration.lua.logLevel = configuration.errorLogLevel
        configuration.lua.workerCount = configuration.workerProcesses
        configuration.lua.masterProcess = configuration.masterProcess
        return configuration
    }

    private func buildHTTP(_ nodes: [ConfigNode], into configuration: inout ServerConfiguration) throws(ConfigError) {
        var inherited = Inherited()
        var servers: [ConfigNode] = []
        for node in nodes where node.name == "upstream" { try upstream(node) }
        for node in nodes {
            if node.name == "upstream" { continue }
            if LuaDirectives.handles(node.name) {
                try LuaDirectives.apply(node, engine: &configuration.engine, lua: &configuration.lua, prefix: prefix)
                continue
            }
            if try applyInheritable(node, to: &inherited) { continue }
            if try applyHeadLimit(node, to: &inherited.headLimits) { continue }
            if SSLServerDirectives.handles(node.name) {
                try SSLServerDirectives.apply(node, to: &inherited.ssl, prefix: prefix)
                continue
            }
            switch node.name {
            case "server": servers.append(node)
            case "map":
                let map = try VariableMap.parse(node)
                guard configuration.maps[map.variable] == nil else { throw node.error(.other("the duplicate \"\(map.variable)\" variable")) }
                configuration.maps[map.variable] = map
            case "init_by_lua_block", "init_by_lua_file", "init_by_lua":
                configuration.initByLua = try luaSource(node, phase: "init_by_lua")
            case "init_worker_by_lua_block", "init_worker_by_lua_file", "init_worker_by_lua":
                configuration.initWorkerByLua = try luaSource(node, phase: "init_worker_by_lua")
            case "ssl_client_hello_by_lua_block", "ssl_client_hello_by_lua_file":
                inherited.sslClientHello = try sslHookSource(node, replacing: inherited.sslClientHello)
            case "ssl_certificate_by_lua_block", "ssl_certificate_by_lua_file":
                inherited.sslCertificate = try sslHookSource(node, replacing: inherited.sslCertificate)
            case "ssl_session_fetch_by_lua_block", "ssl_session_fetch_by_lua_file":
                configuration.sslSessionFetch = try sslHookSource(node, replacing: configuration.sslSessionFetch)
            case "ssl_session_store_by_lua_block", "ssl_session_store_by_lua_file":
                configuration.sslSessionStore = try sslHookSource(node, replacing: configuration.sslSessionStore)
            default:
                try ignoreOrReject(node, in: .http, &configuration)
            }
        }
        // nginx merges by level, not by order: an http-level value written after a server
        // block still reaches it.
        try LuaSSLDirectives.check(configuration.engine.tls, at: nil)
        inherited.socketDefaults = configuration.engine
        configuration.keepaliveTimeoutSeconds = inherited.keepaliveTimeout
        configuration.serverTokens = inherited.serverTokens
        configuration.keepaliveRequests = inherited.keepaliveRequests
        configuration.sendTimeoutSeconds = inherited.sendTimeout
        var pending: [PendingTLS] = []
        for server in servers {
            configuration.servers.append(try buildServer(server, inherited: inherited, configuration: &configuration, tls: &pending))
        }
        configuration.routers = try routers(for: configuration.servers)
        var sessionHooks: TLSHookPoints = []
        if configuration.sslSessionFetch != nil { sessionHooks.insert(.sessionFetch) }
        if configuration.sslSessionStore != nil { sessionHooks.insert(.sessionStore) }
        configuration.tls = try tlsListeners(pending, routers: configuration.routers, sessionHooks: sessionHooks)
    }

    /// For each `listen ... ssl` address, the contexts of its servers: every server there
    /// needs a certificate (nginx's `ngx_http_ssl_init` check), and its files load now.
    private func tlsListeners(
        _ pending: [PendingTLS], routers: [ListenAddress: ServerNameRouter<VirtualServer>], sessionHooks: TLSHookPoints
    ) throws(ConfigError) -> [ListenAddress: TLSListener] {
        var sslListen: [ListenAddress: ConfigNode] = [:]
        for entry in pending {
            for (address, node) in entry.sslListens where sslListen[address] == nil { sslListen[address] = node }
        }
        guard !sslListen.isEmpty else { return [:] }
        var contexts: [ObjectIdentifier: TLSServerContext] = [:]
        var hooks: [ObjectIdentifier: TLSServerLua] = [:]
        var listeners: [ListenAddress: TLSListener] = [:]
        for (address, listenNode) in sslListen.sorted(by: { $0.value.line < $1.value.line }) {
            var onAddress: [ObjectIdentifier: TLSServerContext] = [:]
            for entry in pending where entry.server.listen.contains(address) {
                let key = ObjectIdentifier(entry.server)
                if let built = contexts[key] {
                    onAddress[key] = built
                    continue
                }
                var tls = try SSLServerDirectives.finish(entry.settings)
                tls.hooks = sessionHooks.union(entry.lua.points)
                guard !tls.certificates.isEmpty else {
                    throw listenNode.error(.other("no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive"))
                }
                let sessionContext = entry.server.names.joined(separator: " ") + "\n"
                    + tls.certificates.map { $0.certificate }.joined(separator: "\n")
                do {
                    let context = try TLSServerContext(tls, sessionContext: sessionContext)
                    contexts[key] = context
                    onAddress[key] = context
                    hooks[ObjectIdentifier(context)] = entry.lua
                } catch {
                    throw ConfigError(.other(error.description))
                }
            }
            guard let router = routers[address], let defaultContext = onAddress[ObjectIdentifier(router.defaultServer)] else { continue }
            listeners[address] = TLSListener(defaultContext: defaultContext, contexts: onAddress, router: router, hooks: hooks)
        }
        return listeners
    }

    /// For each address, the servers listening there, chosen among by `Host`.
    private func routers(for servers: [VirtualServer]) throws(ConfigError) -> [ListenAddress: ServerNameRouter<VirtualServer>] {
        var addresses: [ListenAddress] = []
        for server in servers { for address in server.listen where !addresses.contains(address) { addresses.append(address) } }
        var routers: [ListenAddress: ServerNameRouter<VirtualServer>] = [:]
        for address in addresses {
            let listening = servers.filter { $0.listen.contains(address) }
            let defaults = listening.indices.filter { listening[$0].defaultFor.contains(address) }
            if defaults.count > 1 {
                throw ConfigError(.directive(name: "listen", message: "a duplicate default server for \(address.host):\(address.port)"))
            }
            routers[address] = try ServerNameRouter(listening.map { ($0.names, $0) }, defaultIndex: defaults.first)
        }
        return routers
    }

    private func buildServer(
        _ node: ConfigNode, inherited outer: Inherited, configuration: inout ServerConfiguration, tls: inout [PendingTLS]
    ) throws(ConfigError) -> VirtualServer {
        var inherited = outer
        inherited.ssl = outer.ssl.inherited()
        inherited.ownsLuaSSLConfCommands = false
        inherited.ownsAddedHeaders = false
        inherited.ownsAccessRules = false
        inherited.ownsProxyHeaders = false
        inherited.ownsErrorPages = false
        var sslListens: [ListenAddress: ConfigNode] = [:]
        var listenNodes: [ListenAddress: ConfigNode] = [:]
        var listen: [ListenAddress] = []
        var defaultFor: Set<ListenAddress> = []
        var names: [String] = []
        var locationNodes: [ConfigNode] = []
        var serverLevel = LocationConfiguration()
        var certificateHook: LuaSource?
        var clientHelloHook: LuaSource?
        for child in try block(node) {
            if let step = try rewriteStep(child, in: .server) {
                serverLevel.serverScript.append(try serverStep(step, &configuration))
                continue
            }
            if try applyInheritable(child, to: &inherited) { continue }
            if try applyHeadLimit(child, to: &inherited.headLimits) { continue }
            if SSLServerDirectives.handles(child.name) {
                try SSLServerDirectives.apply(child, to: &inherited.ssl, prefix: prefix)
                continue
            }
            switch child.name {
            case "listen":
                let address = try listenAddress(child)
                listen.append(address)
                listenNodes[address] = child
                for parameter in child.arguments.dropFirst() {
                    if parameter == "ssl" {
                        sslListens[address] = child
                    } else if parameter == "default_server" || parameter == "default" {
                        defaultFor.insert(address)
                    } else if parameter.hasPrefix("backlog=") {
                        guard let backlog = Int32(parameter.dropFirst(8)), backlog != 0 else {
                            throw child.error(.directive(name: child.name, message: "invalid backlog \"\(parameter.dropFirst(8))\""))
                        }
                        configuration.listenBacklogs[address] = backlog
                    } else if !Self.listenParameters.contains(where: { parameter == $0 || parameter.hasPrefix($0 + "=") }) {
                        throw child.error(.directive(name: child.name, message: "invalid parameter \"\(parameter)\""))
                    }
                    // Every other parameter (reuseport, so_keepalive=, ...) tunes the socket; each
                    // worker's socket has SO_REUSEPORT already.
                }
            case "server_name": names.append(contentsOf: child.arguments)
            case "try_files":
                guard serverLevel.tryFiles == nil else { throw child.error(.directive(name: child.name, message: "is duplicate")) }
                serverLevel.tryFiles = try TryFiles.parse(child)
            case "location": locationNodes.append(child)
            case "ssl_certificate_by_lua_block", "ssl_certificate_by_lua_file":
                certificateHook = try sslHookSource(child, replacing: certificateHook)
            case "ssl_client_hello_by_lua_block", "ssl_client_hello_by_lua_file":
                clientHelloHook = try sslHookSource(child, replacing: clientHelloHook)
            default: try ignoreOrReject(child, in: .server, &configuration)
            }
        }
        if listen.isEmpty { listen = [ListenAddress(host: "0.0.0.0", port: 80)] }
        var definitions: [LocationDefinition<Location>] = []
        for location in locationNodes {
            definitions.append(try buildLocation(location, inherited: inherited, serverLevel: serverLevel, configuration: &configuration))
        }
        // A request no location matches takes the server's settings: its rewrite-module
        // script, then nginx's static module.
        var settings = serverLevel
        try finish(&settings, inherited)
        if !serverLevel.serverScript.isEmpty {
            settings.runsScript = true
            settings.declaredVariables = RewriteScript.variableNames(of: settings.serverScript).map { ($0, "") }
        }
        let serverOnly = Location(settings)
        if inherited.ssl.sslOn {
            for address in listen where sslListens[address] == nil { sslListens[address] = listenNodes[address] ?? node }
        }
        let server = VirtualServer(
            listen: listen, names: names, locations: try LocationMatcher(definitions), defaultFor: defaultFor,
            headLimits: inherited.headLimits, serverOnly: serverOnly)
        let lua = TLSServerLua(certificate: certificateHook ?? outer.sslCertificate, clientHello: clientHelloHook ?? outer.sslClientHello)
        // lua-nginx-module's server merge: a handshake hook needs the server's SSL context,
        // which nginx makes only for a server with a certificate.
        if !lua.points.isEmpty, inherited.ssl.certificates.isEmpty {
            throw ConfigError(.other("no ssl configured for the server"))
        }
        tls.append(PendingTLS(server: server, settings: inherited.ssl, sslListens: sslListens, lua: lua))
        return server
    }

    /// `large_client_header_buffers`, `ignore_invalid_headers`, `underscores_in_headers` (http
    /// and server).
    private func applyHeadLimit(_ node: ConfigNode, to limits: inout RequestHeadLimits) throws(ConfigError) -> Bool {
        switch node.name {
        case "large_client_header_buffers":
            guard node.arguments.count == 2 else { throw node.error(.invalidArgumentCount(node.name)) }
            guard let count = Int(node.arguments[0]), count > 0 else {
                throw node.error(.directive(name: node.name, message: "invalid value \"\(node.arguments[0])\""))
            }
            guard let size = try? ConfigUnits.size(node.arguments[1]), size > 0 else {
                throw node.error(.directive(name: node.name, message: "invalid value \"\(node.arguments[1])\""))
            }
            limits.bufferCount = count
            limits.bufferSize = size
        case "client_header_buffer_size":
            guard let size = try? ConfigUnits.size(try single(node)), size > 0 else {
                throw node.error(.directive(name: node.name, message: "invalid value"))
            }
            limits.firstBufferSize = size
        case "client_header_timeout":
            guard let milliseconds = try? ConfigUnits.milliseconds(try single(node)) else {
                throw node.error(.directive(name: node.name, message: "invalid value"))
            }
            limits.headerTimeout = max(1, milliseconds / 1000 + (milliseconds % 1000 > 0 ? 1 : 0))
        case "ignore_invalid_headers": limits.ignoreInvalidHeaders = try flag(node)
        case "underscores_in_headers": limits.underscoresInHeaders = try flag(node)
        default: return false
        }
        return true
    }

    private func buildLocation(
        _ node: ConfigNode,
        inherited outer: Inherited,
        serverLevel: LocationConfiguration,
        configuration: inout ServerConfiguration
    ) throws(ConfigError) -> LocationDefinition<Location> {
        let pattern = try LocationPattern(directive: node)
        var inherited = outer
        inherited.ownsLuaSSLConfCommands = false
        inherited.ownsAddedHeaders = false
        inherited.ownsAccessRules = false
        inherited.ownsProxyHeaders = false
        inherited.ownsErrorPages = false
        var location = serverLevel
        location.tryFiles = nil
        var nested: [ConfigNode] = []
        var steps: [PendingStep] = []
        var echo: [ConfigNode] = []
        var proxy: ConfigNode?
        for child in try block(node) {
            if let step = try rewriteStep(child, in: .location) {
                steps.append(step)
                continue
            }
            if try applyInheritable(child, to: &inherited) { continue }
            switch child.name {
            case "location": nested.append(child)
            case "content_by_lua_block", "content_by_lua_file", "content_by_lua":
                location.content = try luaSource(child, phase: "content_by_lua")
            case _ where EchoDirectives.names.contains(child.name): echo.append(child)
            case "proxy_pass": proxy = child
            case "try_files":
                guard location.tryFiles == nil else { throw child.error(.directive(name: child.name, message: "is duplicate")) }
                location.tryFiles = try TryFiles.parse(child)
            case "internal":
                guard child.arguments.isEmpty else { throw child.error(.invalidArgumentCount(child.name)) }
                location.isInternal = true
            case "alias":
                var alias = try single(child)
                if !alias.hasPrefix("/") && !alias.hasPrefix("$") { alias = prefix + "/" + alias }
                location.staticAlias = alias
                if pattern.modifier != .regex && pattern.modifier != .caseInsensitiveRegex { location.aliasedPrefix = pattern.name }
            default: try ignoreOrReject(child, in: .location, &configuration)
            }
        }
        if !echo.isEmpty && location.content == nil { location.content = try echoSource(echo) }
        if let proxy, location.content == nil {
            let isPrefix = pattern.modifier != .regex && pattern.modifier != .caseInsensitiveRegex && !pattern.name.hasPrefix("@")
            location.content = try proxySource(proxy, prefix: isPrefix ? pattern.name : nil, inherited.proxy)
        }
        try finish(&location, inherited)
        // An `if` block starts from the location's merged settings, whichever side of the
        // block they are written on (nginx merges by level).
        for step in steps {
            switch step {
            case .ready(let step): location.script.append(step)
            case .block(let block, let condition):
                location.script.append(try buildIfBlock(block, condition, enclosing: location, inherited: inherited, configuration: &configuration))
            }
        }
        let script = location.serverScript + location.script
        if let constants = RewriteScript.constantValues(of: script) {
            location.declaredVariables = constants
        } else {
            location.declaredVariables = RewriteScript.variableNames(of: script).map { ($0, "") }
            location.runsScript = true
        }
        var children: [LocationDefinition<Location>] = []
        for child in nested {
            children.append(try buildLocation(child, inherited: inherited, serverLevel: serverLevel, configuration: &configuration))
        }
        return LocationDefinition(pattern, payload: Location(location), nested: children, file: node.file, line: node.line)
    }

    /// `if (...) { ... }` in a location: the block's own settings over the enclosing
    /// location's, and its rewrite directives.
    private func buildIfBlock(
        _ node: ConfigNode,
        _ condition: RewriteCondition,
        enclosing: LocationConfiguration,
        inherited outer: Inherited,
        configuration: inout ServerConfiguration
    ) throws(ConfigError) -> RewriteStep {
        var inherited = outer
        inherited.ownsLuaSSLConfCommands = false
        inherited.ownsAddedHeaders = false
        inherited.ownsAccessRules = false
        inherited.ownsProxyHeaders = false
        inherited.ownsErrorPages = false
        var settings = enclosing
        var steps: [RewriteStep] = []
        var echo: [ConfigNode] = []
        for child in try block(node) {
            if let step = try rewriteStep(child, in: .locationIf) {
                // `if` is refused inside `if`, so every step is ready.
                if case .ready(let step) = step { steps.append(step) }
                continue
            }
            if Self.notInLocationIf.contains(child.name) { throw child.error(.directiveNotAllowedHere(child.name)) }
            if try applyInheritable(child, to: &inherited) { continue }
            switch child.name {
            case "content_by_lua_block", "content_by_lua_file", "content_by_lua":
                settings.content = try luaSource(child, phase: "content_by_lua")
            case _ where EchoDirectives.names.contains(child.name): echo.append(child)
            case "proxy_pass": settings.content = try proxySource(child, prefix: nil, inherited.proxy)
            default: try ignoreOrReject(child, in: .locationIf, &configuration)
            }
        }
        if !echo.isEmpty { settings.content = try echoSource(echo) }
        try finish(&settings, inherited)
        // The request runs its location's scripts once; taking the block's settings does
        // not start them again.
        settings.serverScript = []
        settings.script = []
        settings.runsScript = false
        return .condition(condition, steps: steps, location: Location(settings))
    }

    /// Directives `applyInheritable` takes that nginx refuses inside a location's `if`.
    private static let notInLocationIf: Set<String> = ([
        "default_type", "types", "lua_filter_yield", "client_max_body_size", "keepalive_timeout", "keepalive_requests",
        "send_timeout", "client_body_buffer_size", "client_body_temp_path", "absolute_redirect", "client_body_timeout",
        "resolver", "resolver_timeout", "server_tokens", "index", "allow", "deny", "recursive_error_pages",
        // Ours, at the levels `resolver` has (the other `lua_socket_*` are allowed in `if`).
        "lua_system_resolver", "lua_socket_connect_fallback",
    ] as Set<String>).union(LuaSSLDirectives.names)

    /// A rewrite-module directive of a server or location (or of an `if` block in one),
    /// or `nil` for any other directive.
    private enum PendingStep {
        case ready(RewriteStep)
        /// An `if` block, built once its location's settings are known.
        case block(ConfigNode, RewriteCondition)
    }

    private func rewriteStep(_ node: ConfigNode, in context: DirectiveContext) throws(ConfigError) -> PendingStep? {
        switch node.name {
        case "set":
            guard node.arguments.count == 2 else { throw node.error(.invalidArgumentCount(node.name)) }
            guard node.arguments[0].hasPrefix("$"), node.arguments[0].count > 1 else {
                throw node.error(.other("invalid variable name \"\(node.arguments[0])\""))
            }
            return .ready(.set(VariableAssignment(name: String(node.arguments[0].dropFirst()), value: node.arguments[1])))
        case "set_by_lua_block", "set_by_lua", "set_by_lua_file":
            return .ready(.set(try setByLua(node)))
        case "return":
            return .ready(try returnStep(node))
        case "break":
            guard node.arguments.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
            return .ready(.stop)
        case "rewrite":
            guard (2...3).contains(node.arguments.count) else { throw node.error(.invalidArgumentCount(node.name)) }
            var flag = URIRewrite.Flag.none
            if node.arguments.count == 3 {
                guard let given = URIRewrite.Flag(rawValue: node.arguments[2]), given != .none else {
                    throw node.error(.invalid("invalid parameter \"\(node.arguments[2])\""))
                }
                flag = given
            }
            let regex = try HostRegex(node.arguments[0], caseless: false, file: node.file, line: node.line)
            return .ready(.rewrite(URIRewrite(regex: regex, replacement: node.arguments[1], flag: flag)))
        case "if":
            guard context == .location || context == .server else { throw node.error(.directiveNotAllowedHere(node.name)) }
            guard node.children != nil else { throw node.error(.directiveHasNoOpeningBrace(node.name)) }
            return .block(node, try RewriteCondition(arguments: node.arguments, file: node.file, line: node.line))
        default:
            return nil
        }
    }

    /// A server-level step: an `if` block there holds rewrite directives only.
    private func serverStep(_ step: PendingStep, _ configuration: inout ServerConfiguration) throws(ConfigError) -> RewriteStep {
        switch step {
        case .ready(let step): return step
        case .block(let node, let condition):
            var steps: [RewriteStep] = []
            for child in try block(node) {
                if let step = try rewriteStep(child, in: .serverIf) {
                    if case .ready(let step) = step { steps.append(step) }
                    continue
                }
                try ignoreOrReject(child, in: .serverIf, &configuration)
            }
            return .condition(condition, steps: steps, location: nil)
        }
    }

    /// `return code [text]`, `return code URL`, `return URL` (a 302).
    private func returnStep(_ node: ConfigNode) throws(ConfigError) -> RewriteStep {
        guard (1...2).contains(node.arguments.count) else { throw node.error(.invalidArgumentCount(node.name)) }
        let first = node.arguments[0]
        if node.arguments.count == 1, ["http://", "https://", "$scheme"].contains(where: { first.hasPrefix($0) }) {
            return .respond(code: 302, text: first)
        }
        guard let code = Int(first), (0...999).contains(code) else {
            throw node.error(.directive(name: node.name, message: "invalid return code \"\(first)\""))
        }
        return .respond(code: code, text: node.arguments.count == 2 ? node.arguments[1] : nil)
    }

    /// The inherited handlers and settings a location (or an `if` block) ends with.
    private func finish(_ location: inout LocationConfiguration, _ inherited: Inherited) throws(ConfigError) {
        if inherited.setsSocketDefaults { try LuaSSLDirectives.check(inherited.socketDefaults.tls, at: nil) }
        location.rewrite = inherited.rewrite
        location.access = inherited.access
        location.log = inherited.log
        location.headerFilter = inherited.headerFilter
        location.bodyFilter = inherited.bodyFilter
        location.filterYield = inherited.filterYield
        location.defaultType = inherited.defaultType
        location.types = inherited.types
        location.clientMaxBodySize = inherited.clientMaxBodySize
        location.clientBodyBufferSize = inherited.clientBodyBufferSize
        location.clientBodyTimeout = inherited.clientBodyTimeout
        location.clientBodyTempPath = inherited.clientBodyTempPath ?? prefix + "/client_body_temp"
        location.keepaliveTimeout = inherited.keepaliveTimeout
        location.keepaliveRequests = inherited.keepaliveRequests
        location.sendTimeout = inherited.sendTimeout
        location.checkClientAbort = inherited.checkClientAbort
        location.transformUnderscores = inherited.transformUnderscores
        location.absoluteRedirect = inherited.absoluteRedirect
        location.serverTokens = inherited.serverTokens
        location.staticRoot = inherited.staticRoot ?? prefix + "/html"
        location.indexFiles = inherited.indexFiles
        location.outputHeaderEdits = inherited.outputHeaderEdits
        location.addedHeaders = inherited.addedHeaders
        location.accessRules = inherited.accessRules
        location.errorPages = inherited.errorPages
        location.recursiveErrorPages = inherited.recursiveErrorPages
        location.expires = inherited.expires
        location.inputHeaderEdits = inherited.inputHeaderEdits
        location.socketDefaults = inherited.setsSocketDefaults ? inherited.socketDefaults : nil
        location.editsOutputHeaders = !location.outputHeaderEdits.isEmpty || !location.addedHeaders.isEmpty || location.expires != nil
        location.editsInputHeaders = !location.inputHeaderEdits.isEmpty
        location.checksAccess = !location.accessRules.isEmpty
        location.servesStaticFiles = location.content == nil
        location.phases = [
            ("rewrite", location.rewrite), ("access", inherited.authRequest), ("access", location.access), ("content", location.content),
        ].compactMap { name, source in source.map { LuaPhase(name: name, source: $0) } }
    }

    /// The directives that any of http, server and location may set, the inner one winning.
    private func applyInheritable(_ node: ConfigNode, to inherited: inout Inherited) throws(ConfigError) -> Bool {
        switch node.name {
        case "rewrite_by_lua_block", "rewrite_by_lua_file", "rewrite_by_lua":
            inherited.rewrite = try luaSource(node, phase: "rewrite_by_lua")
        case "access_by_lua_block", "access_by_lua_file", "access_by_lua":
            inherited.access = try luaSource(node, phase: "access_by_lua")
        case "log_by_lua_block", "log_by_lua_file", "log_by_lua":
            inherited.log = try luaSource(node, phase: "log_by_lua")
        case "header_filter_by_lua_block", "header_filter_by_lua_file", "header_filter_by_lua":
            inherited.headerFilter = try luaSource(node, phase: "header_filter_by_lua")
        case "body_filter_by_lua_block", "body_filter_by_lua_file", "body_filter_by_lua":
            inherited.bodyFilter = try luaSource(node, phase: "body_filter_by_lua")
        case "default_type":
            inherited.defaultType = try single(node)
        case "types":
            // A level's block replaces the one above it, as nginx merges `types`.
            var types: [String: String] = [:]
            for entry in try block(node) {
                for pathExtension in entry.arguments { types[pathExtension.lowercased()] = entry.name }
            }
            inherited.types = types
        case "lua_filter_yield":
            inherited.filterYield = try flag(node)
        case _ where ProxyPass.directives.contains(node.name):
            try applyProxy(node, to: &inherited)
        case "auth_request":
            let uri = try single(node)
            if uri == "off" {
                inherited.authRequest = nil
            } else {
                let id = sourceNumbers.next
                sourceNumbers.next += 1
                inherited.authRequest = LuaSource(
                    code: AuthRequest.lua(uri: uri), chunkName: "=auth_request(\(basename(node.file)):\(node.line))", id: id)
            }
        case "lua_transform_underscores_in_response_headers":
            inherited.transformUnderscores = try flag(node)
        case "lua_check_client_abort":
            inherited.checkClientAbort = try flag(node)
        case _ where LuaDirectives.isSocketDirective(node.name):
            // Allowed in http, server, location and location if (lua-nginx-module's README).
            try LuaDirectives.applySocket(node, to: &inherited.socketDefaults)
            inherited.setsSocketDefaults = true
        case _ where LuaSSLDirectives.handles(node.name):
            if node.name == "lua_ssl_conf_command" && !inherited.ownsLuaSSLConfCommands {
                inherited.socketDefaults.tls.confCommands = []
                inherited.ownsLuaSSLConfCommands = true
            }
            try LuaSSLDirectives.apply(node, to: &inherited.socketDefaults.tls, prefix: prefix)
            inherited.setsSocketDefaults = true
        case "resolver", "resolver_timeout", "lua_system_resolver":
            // http, server and location (nginx's core module): the cosockets of requests here
            // resolve through this one (`lua_system_resolver`, ours, has the same levels).
            var lua = LuaConfiguration()
            try LuaDirectives.apply(node, engine: &inherited.socketDefaults, lua: &lua)
            inherited.setsSocketDefaults = true
        case "keepalive_requests":
            guard let count = Int(try single(node)), count >= 0 else {
                throw node.error(.directive(name: node.name, message: "invalid number \"\(node.arguments[0])\""))
            }
            inherited.keepaliveRequests = count
        case "keepalive_timeout", "send_timeout", "client_body_timeout":
            // `keepalive_timeout 75s [header_timeout]`: the second (a Keep-Alive header) is not sent.
            // Both are milliseconds to nginx; the idle sweep counts whole seconds (rounded up).
            guard (1...(node.name == "keepalive_timeout" ? 2 : 1)).contains(node.arguments.count),
                  let milliseconds = try? ConfigUnits.milliseconds(node.arguments[0]) else {
                throw node.error(.directive(name: node.name, message: "invalid value"))
            }
            let seconds = milliseconds / 1000 + (milliseconds % 1000 > 0 ? 1 : 0)
            switch node.name {
            case "send_timeout": inherited.sendTimeout = seconds
            case "client_body_timeout": inherited.clientBodyTimeout = max(1, seconds)
            default: inherited.keepaliveTimeout = seconds
            }
        case "client_max_body_size", "client_body_buffer_size":
            do {
                let size = try ConfigUnits.size(try single(node))
                if node.name == "client_max_body_size" { inherited.clientMaxBodySize = size } else { inherited.clientBodyBufferSize = size }
            } catch {
                throw node.error(.directive(name: node.name, message: "invalid value"))
            }
        case "absolute_redirect":
            inherited.absoluteRedirect = try flag(node)
        case "root":
            // Also in `location if`; a relative root starts at the prefix.
            let root = try single(node)
            inherited.staticRoot = (root.hasPrefix("/") || root.hasPrefix("$") ? root : prefix + "/" + root)
            if inherited.staticRoot?.hasSuffix("/") == true { inherited.staticRoot?.removeLast() }
        case "index":
            guard !node.arguments.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
            inherited.indexFiles = node.arguments
        case "allow", "deny":
            let rule = try AccessRule.parse(node)
            if !inherited.ownsAccessRules {
                inherited.accessRules = []
                inherited.ownsAccessRules = true
            }
            inherited.accessRules.append(rule)
        case "add_header":
            let header = try AddedHeader.parse(node)
            if !inherited.ownsAddedHeaders {
                inherited.addedHeaders = []
                inherited.ownsAddedHeaders = true
            }
            inherited.addedHeaders.append(header)
        case "error_page":
            let page = try ErrorPage.parse(node)
            if !inherited.ownsErrorPages {
                inherited.errorPages = []
                inherited.ownsErrorPages = true
            }
            inherited.errorPages.append(page)
        case "expires":
            let expires = try Expires.parse(node)
            inherited.expires = expires.rule == nil && expires.template == nil ? nil : expires
        case "recursive_error_pages":
            inherited.recursiveErrorPages = try flag(node)
        case "server_tokens":
            // `build` and a string (nginx Plus) show the version as `on` does.
            inherited.serverTokens = try single(node) != "off"
        case _ where HeadersMoreDirectives.names.contains(node.name):
            let edits = try HeadersMoreDirectives.parse(node)
            if HeadersMoreDirectives.isInput(node.name) {
                inherited.inputHeaderEdits += edits
            } else {
                inherited.outputHeaderEdits += edits
            }
        case "client_body_temp_path":
            // `path [level1 [level2 [level3]]]`: the levels (hashed subfolders) are not used here.
            guard (1...4).contains(node.arguments.count) else {
                throw node.error(.directive(name: node.name, message: "invalid number of arguments"))
            }
            let path = node.arguments[0]
            inherited.clientBodyTempPath = path.hasPrefix("/") ? path : prefix + "/" + path
        default:
            return false
        }
        return true
    }

    /// `set_by_lua_block $var { code }`, `set_by_lua $var 'code' args...`,
    /// `set_by_lua_file $var path args...`.
    private func setByLua(_ node: ConfigNode) throws(ConfigError) -> VariableAssignment {
        let isBlock = node.luaBlock != nil
        guard let target = node.arguments.first, node.arguments.count >= (isBlock ? 1 : 2), !isBlock || node.arguments.count == 1 else {
            throw node.error(.invalidArgumentCount(node.name))
        }
        guard target.hasPrefix("$"), target.count > 1 else {
            throw node.error(.directive(name: node.name, message: "invalid variable name \"\(target)\""))
        }
        var codeNode = node
        codeNode.arguments = isBlock ? [] : [node.arguments[1]]
        let source = try luaSource(codeNode, phase: "set_by_lua")
        return VariableAssignment(name: String(target.dropFirst()), value: "", lua: source, arguments: Array(node.arguments.dropFirst(isBlock ? 1 : 2)))
    }

    /// An `ssl_*_by_lua*` hook (one per level, as lua-nginx-module allows). The chunk names
    /// are the reference's: the client-hello block's carries no position.
    private func sslHookSource(_ node: ConfigNode, replacing existing: LuaSource?) throws(ConfigError) -> LuaSource {
        guard existing == nil else { throw node.error(.directive(name: node.name, message: "is duplicate")) }
        let phase = node.name.hasSuffix("_block") ? String(node.name.dropLast(6)) : String(node.name.dropLast(5))
        var source = try luaSource(node, phase: phase)
        if phase == "ssl_client_hello_by_lua", node.luaBlock != nil { source.chunkName = "=ssl_client_hello_by_lua" }
        return source
    }

    /// `proxy_pass URL` as a content handler (see ``ProxyPass``).
    private func proxySource(_ node: ConfigNode, prefix: String?, _ settings: ProxySettings) throws(ConfigError) -> LuaSource {
        let url = try single(node)
        guard url.hasPrefix("$") || url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://") else {
            throw node.error(.directive(name: node.name, message: "invalid URL prefix in \"\(url)\""))
        }
        let id = sourceNumbers.next
        sourceNumbers.next += 1
        let code = ProxyPass.lua(url: url, prefix: prefix, settings: settings, upstreams: upstreams.servers)
        return LuaSource(code: code, chunkName: "=proxy_pass(\(basename(node.file)):\(node.line))", id: id)
    }

    /// `upstream name { server address [parameters]; ... }`: the addresses, in order.
    private func upstream(_ node: ConfigNode) throws(ConfigError) {
        let name = try single(node)
        var servers: [String] = []
        for child in try block(node) {
            switch child.name {
            case "server":
                guard let address = child.arguments.first else { throw child.error(.invalidArgumentCount(child.name)) }
                // `backup` servers are tried only when the others fail: last here.
                if child.arguments.contains("backup") { continue }
                servers.append(address)
            case "keepalive", "keepalive_timeout", "keepalive_requests", "least_conn", "ip_hash", "hash", "random", "zone",
                "balancer_by_lua_block", "balancer_by_lua_file", "balancer_by_lua":
                continue
            default:
                throw child.error(.unknownDirective(child.name))
            }
        }
        guard !servers.isEmpty else { throw node.error(.directive(name: "upstream", message: "no servers are inside upstream")) }
        upstreams.servers[name] = servers
    }

    /// The `proxy_*` settings this host acts on.
    private func applyProxy(_ node: ConfigNode, to inherited: inout Inherited) throws(ConfigError) {
        switch node.name {
        case "proxy_set_header":
            guard node.arguments.count == 2 else { throw node.error(.invalidArgumentCount(node.name)) }
            if !inherited.ownsProxyHeaders {
                inherited.proxy.setHeaders = []
                inherited.ownsProxyHeaders = true
            }
            inherited.proxy.setHeaders.append((node.arguments[0], node.arguments[1]))
        case "proxy_http_version":
            let version = try single(node)
            guard version == "1.0" || version == "1.1" else {
                throw node.error(.directive(name: node.name, message: "invalid value \"\(version)\""))
            }
            inherited.proxy.httpVersion = version
        case "proxy_pass_request_headers":
            inherited.proxy.passRequestHeaders = try flag(node)
        case "proxy_pass_request_body":
            inherited.proxy.passRequestBody = try flag(node)
        case "proxy_buffering":
            inherited.proxy.buffering = try flag(node)
        default:
            guard let milliseconds = try? ConfigUnits.milliseconds(try single(node)) else {
                throw node.error(.directive(name: node.name, message: "invalid value"))
            }
            switch node.name {
            case "proxy_connect_timeout": inherited.proxy.connectTimeout = milliseconds
            case "proxy_send_timeout": inherited.proxy.sendTimeout = milliseconds
            default: inherited.proxy.readTimeout = milliseconds
            }
        }
    }

    /// echo-nginx-module's directives of one location (or `if` block), as one content handler.
    private func echoSource(_ nodes: [ConfigNode]) throws(ConfigError) -> LuaSource {
        let id = sourceNumbers.next
        sourceNumbers.next += 1
        let position = nodes.first.map { "\(basename($0.file)):\($0.line)" } ?? ""
        return LuaSource(code: try EchoDirectives.lua(nodes), chunkName: "=echo(\(position))", id: id)
    }

    private func luaSource(_ node: ConfigNode, phase: String) throws(ConfigError) -> LuaSource {
        let id = sourceNumbers.next
        sourceNumbers.next += 1
        if let block = node.luaBlock {
            return LuaSource(code: block.source, chunkName: chunkName(phase, node.file, block.line), id: id)
        }
        let argument = try single(node)
        if node.name.hasSuffix("_file") {
            let path = argument.hasPrefix("/") ? argument : prefix + "/" + argument
            // Read at start when it can be; otherwise each request reads it (see `pathTemplate`).
            // The start phases' files are read once, so a missing one stops the start.
            let atStart = phase.hasPrefix("init") || phase.hasPrefix("ssl_")
            let hasVariables = argument.utf8.contains(UInt8(ascii: "$"))
            let code = hasVariables ? nil : readFile(path)
            if !atStart, code == nil {
                // A path that starts with a variable is made absolute once expanded.
                return LuaSource(code: [], chunkName: "@" + path, id: id, pathTemplate: argument.hasPrefix("$") ? argument : path)
            }
            guard let code else {
                throw node.error(.fileOperationFailed(operation: "open()", path: path, reason: "No such file or directory"))
            }
            return LuaSource(code: code, chunkName: "@" + path, id: id)
        }
        return LuaSource(code: Array(argument.utf8), chunkName: chunkName(phase, node.file, node.line), id: id)
    }

    private func listenAddress(_ node: ConfigNode) throws(ConfigError) -> ListenAddress {
        guard let first = node.arguments.first else { throw node.error(.invalidArgumentCount(node.name)) }
        if first.hasPrefix("unix:") {
            guard first.count > 5 else { throw node.error(.directive(name: node.name, message: "no path in the unix domain socket in \"\(first)\"")) }
            return ListenAddress(host: first, port: 0)
        }
        var host = "0.0.0.0"
        var portText = first
        if !first.contains(":"), !first.allSatisfy(\.isNumber) {
            // `listen 127.0.0.1` and `listen localhost`: nginx's default port.
            host = first == "localhost" ? "127.0.0.1" : first
            portText = "80"
        } else if let colon = first.lastIndex(of: ":") {
            host = String(first[..<colon])
            portText = String(first[first.index(after: colon)...])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host == "*" { host = "0.0.0.0" }
            if host == "localhost" { host = "127.0.0.1" }
        }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw node.error(.directive(name: node.name, message: "invalid port in \"\(first)\""))
        }
        return ListenAddress(host: host, port: port)
    }

    /// A directive no branch of this level acts on: accepted with a warning where nginx allows
    /// it here, refused in nginx's words elsewhere (see ``DirectiveContexts``).
    private func ignoreOrReject(_ node: ConfigNode, in context: DirectiveContext, _ configuration: inout ServerConfiguration) throws(ConfigError) {
        let known = DirectiveContexts.contexts(of: node.name)
            ?? (LuaDirectives.handles(node.name) || Self.luaHTTPOnly.contains(node.name) ? [.http] : nil)
            ?? (Self.handledWhereAllowed.contains(node.name) ? [] : nil)
        guard let known else { throw node.error(.unknownDirective(node.name)) }
        let allowed = switch context {
        case .locationIf: DirectiveContexts.inLocationIf.contains(node.name)
        case .serverIf: false
        default: known.contains(context)
        }
        guard allowed else { throw node.error(.directiveNotAllowedHere(node.name)) }
        configuration.ignored.append((node.name, "\(node.file):\(node.line)"))
    }

    /// `listen` parameters nginx knows besides `default_server` and `backlog=`: accepted.
    private static let listenParameters = [
        "reuseport", "so_keepalive", "rcvbuf", "sndbuf", "deferred", "bind", "fastopen", "ipv6only",
        "accept_filter", "setfib",
    ]

    /// Lua directives handled at the http level only, by name (refused elsewhere).
    private static let luaHTTPOnly: Set<String> = [
        "init_by_lua", "init_by_lua_block", "init_by_lua_file",
        "init_worker_by_lua", "init_worker_by_lua_block", "init_worker_by_lua_file",
    ]

    /// Directives each level that allows them handles itself: reaching this check means the
    /// level does not allow them.
    private static let handledWhereAllowed: Set<String> = ([
        "content_by_lua", "content_by_lua_block", "content_by_lua_file", "listen", "server_name", "location", "server",
        "set", "return", "break", "if", "set_by_lua", "set_by_lua_block", "set_by_lua_file",
        "keepalive_timeout", "keepalive_requests", "send_timeout",
        "large_client_header_buffers", "ignore_invalid_headers", "underscores_in_headers", "client_header_timeout",
        "client_header_buffer_size",
    ] as Set<String>).union(SSLServerDirectives.names)

    private func single(_ node: ConfigNode) throws(ConfigError) -> String {
        guard node.arguments.count == 1 else { throw node.error(.invalidArgumentCount(node.name)) }
        return node.arguments[0]
    }

    private func flag(_ node: ConfigNode) throws(ConfigError) -> Bool {
        switch try single(node) {
        case "on": return true
        case "off": return false
        default:
            throw node.error(.invalidFlag(name: node.name, value: node.arguments[0]))
        }
    }

    private func block(_ node: ConfigNode) throws(ConfigError) -> [ConfigNode] {
        guard let children = node.children else { throw node.error(.directiveHasNoOpeningBrace(node.name)) }
        return children
    }

    private func chunkName(_ tag: String, _ file: String, _ line: Int) -> String {
        LuaChunkName.make(tag: tag, file: file, line: line, confPrefix: confPrefix)
    }

    private func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
