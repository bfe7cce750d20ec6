import CLuaJIT
import CosocketCore
import NIOCore

/// `ngx.socket.tcp` and the methods of its objects, with the reference's argument checks,
/// return values and error strings.
///
/// A socket object is a table whose slot 1 holds the boxed ``LuaSocket``, and whose
/// metatable is also its `__index`, as in lua-nginx-module.
enum SocketAPI {
    private static let metatable = LuaRegistrySlot()

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 32)
        lua_pushvalue(L, -1)
        metatable.store(L)
        let methods: [(String, lua_CFunction)] = [
            ("connect", { L in luaFinish(L!, SocketAPI.connect(L!)) }),
            ("send", { L in luaFinish(L!, SocketAPI.send(L!)) }),
            ("receive", { L in luaFinish(L!, SocketAPI.receive(L!)) }),
            ("receiveany", { L in luaFinish(L!, SocketAPI.receiveAny(L!)) }),
            ("receiveuntil", { L in luaFinish(L!, SocketAPI.receiveUntil(L!)) }),
            ("settimeout", { L in luaFinish(L!, SocketAPI.setTimeout(L!)) }),
            ("settimeouts", { L in luaFinish(L!, SocketAPI.setTimeouts(L!)) }),
            ("setoption", { L in luaFinish(L!, SocketAPI.setOption(L!)) }),
            ("getoption", { L in luaFinish(L!, SocketAPI.getOption(L!)) }),
            ("setkeepalive", { L in luaFinish(L!, SocketAPI.setKeepalive(L!)) }),
            ("getreusedtimes", { L in luaFinish(L!, SocketAPI.getReusedTimes(L!)) }),
            ("close", { L in luaFinish(L!, SocketAPI.close(L!)) }),
            ("shutdown", { L in luaFinish(L!, SocketAPI.shutdown(L!)) }),
            ("bind", { L in luaFinish(L!, SocketAPI.bind(L!)) }),
            ("sslhandshake", { L in luaFinish(L!, SocketAPI.sslHandshake(L!)) }),
            ("setclientcert", { L in luaFinish(L!, SocketAPI.setClientCert(L!)) }),
        ]
        for (name, function) in methods { luaSetField(L, -1, name, function, upvalue: worker) }
        lua_pushvalue(L, -1)
        lua_setfield(L, -2, "__index")
        luaPop(L, 1)
    }

    /// `ngx.socket.tcp()`: a new socket table.
    static func create(_ L: LuaState) -> LuaReturn {
        if let refusal = L.refusalWhenRunningToEnd() { return refusal }
        let count = lua_gettop(L)
        if count != 0 { return L.fail("expecting zero arguments, but got \(count)") }
        lua_createtable(L, 1, 0)
        metatable.push(L)
        lua_setmetatable(L, -2)
        return .values(1)
    }

    // MARK: Self

    enum SelfCheck {
        case socket(LuaSocket)
        case fail(LuaReturn)
    }

    /// The socket behind argument 1; `create` makes one for a table that has none (connect
    /// accepts any table as self, as the reference does).
    static func socketOf(_ L: LuaState, create: Bool = false, connecting: Bool = false) -> SelfCheck {
        guard lua_type(L, 1) == LUA_TTABLE else {
            return .fail(L.argumentError(1, "table expected, got \(luaTypeName(L, 1))"))
        }
        let worker = LuaWorker.from(L)
        lua_rawgeti(L, 1, 1)
        let existing = LuaBox.unbox(L, -1, as: LuaSocket.self, seal: worker.boxSeal)
        luaPop(L, 1)
        if let existing {
            // Another request's socket: the reference refuses a connect, and any operation on
            // a connection (a closed socket answers "closed" first).
            if existing.contextSerial != 0, let current = worker.current, existing.contextSerial != current.context.serial,
                connecting || existing.stream.hasConnection
            {
                return .fail(L.fail("bad request"))
            }
            return .socket(existing)
        }
        guard create else { return .fail(L.softFailure("closed")) }
        let socket = worker.spareSockets.popLast() ?? LuaSocket(worker: worker)
        LuaBox.push(L, socket, seal: worker.boxSeal)
        lua_rawseti(L, 1, 1)
        return .socket(socket)
    }

    /// The running scheduler coroutine, which an operation that must wait will yield.
    static func currentCoroutine(_ L: LuaState) -> LuaCoroutine? {
        LuaWorker.from(L).current
    }

    // MARK: connect

    static func connect(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard (2...4).contains(count) else {
            return L.fail("ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen \(count)")
        }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        let hostType = lua_type(L, 2)
        var hostLength = 0
        guard hostType == LUA_TSTRING || hostType == LUA_TNUMBER, let hostBytes = lua_tolstring(L, 2, &hostLength) else {
            return L.argumentError(2, "string expected, got \(luaTypeName(L, 2))")
        }
        let host = UnsafeRawBufferPointer(start: hostBytes, count: hostLength)
        let isUnix = ConnectTarget.isUnixSocket(host)
        var optionsIndex: Int32 = 4
        let port: Int
        if isUnix {
            port = -1
            if lua_type(L, 3) == LUA_TTABLE { optionsIndex = 3 }
        } else {
            guard count >= 3, lua_type(L, 3) != LUA_TTABLE, lua_isnumber(L, 3) != 0 else {
                // A table in the last place is read as the options first, as the reference
                // does, so that its errors (and an `__index` that raises) come before this one.
                if count == 3, lua_type(L, 3) == LUA_TTABLE, case .failure(let failure) = poolOptions(L, 3) {
                    return failure.result
                }
                return L.softFailure("missing the port number")
            }
            // The reference reads the port into a C `int`: `lua_tointeger`'s value, truncated.
            let number = Int32(truncatingIfNeeded: luaToInteger(L, 3))
            guard number >= 0, number <= 65535 else { return L.softFailure("bad port number: \(number)") }
            port = Int(number)
        }
        let worker = LuaWorker.from(L)
        if !worker.recentConnectTarget.matches(host, port: port) {
            let name = String(decoding: host, as: UTF8.self)
            switch ConnectTarget.parse(host: name, port: port) {
            case .unix(let path)? where path.isEmpty:
                return L.softFailure("failed to parse host name \"\(name)\": no path in the unix domain socket")
            case .host(let hostName, _)? where hostName.isEmpty:
                return L.softFailure("failed to parse host name \"\": no host")
            case let target?:
                worker.recentConnectTarget.remember(host, port: port, target: target)
            case nil:
                return L.softFailure("missing the port number")
            }
        }
        let target = worker.recentConnectTarget.target
        var options = PoolOptions()
        if lua_type(L, optionsIndex) == LUA_TTABLE {
            switch poolOptions(L, optionsIndex) {
            case .success(let parsed): options = parsed
            case .failure(let failure): return failure.result
            }
        }
        if options.name == nil { options.name = worker.recentConnectTarget.poolKey }
        let socket: LuaSocket
        switch socketOf(L, create: true, connecting: true) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        guard let coroutine = currentCoroutine(L) else { return L.fail("no request found") }
        socket.context = coroutine.context
        socket.contextSerial = coroutine.context.serial
        // Copied only when a location sets its own: the engine's are the socket's to begin with.
        if let defaults = coroutine.context.socketDefaults {
            socket.stream.defaults = defaults
            socket.hasLocationDefaults = true
        } else if socket.hasLocationDefaults {
            socket.stream.defaults = worker.engine.configuration
            socket.hasLocationDefaults = false
        }
        socket.isTracked = true
        if !socket.isListed {
            socket.isListed = true
            coroutine.context.track(socket)
        }
        lua_settop(L, 0)
        socket.target = target
        socket.logTimeout(.connect)
        guard let result = socket.stream.connect(to: target, pool: options) else {
            socket.waitForConnect(coroutine)
            return .yield
        }
        socket.logIfFailed(.connect, result)
        if case .success = result { socket.logReuse() }
        return .values(LuaSocket.pushConnectResult(L, result))
    }

    private struct OptionFailure: Error { let result: LuaReturn }

    /// The largest `pool_size` the reference can allocate (see ``poolOptions(_:_:)``).
    private static let maximumPoolSize = 11_671_104

    /// The `pool`, `pool_size` and `backlog` options, with the reference's checks.
    private static func poolOptions(_ L: LuaState, _ index: Int32) -> Result<PoolOptions, OptionFailure> {
        var options = PoolOptions()
        lua_getfield(L, index, "pool")
        switch lua_type(L, -1) {
        case LUA_TNIL: break
        case LUA_TSTRING, LUA_TNUMBER: options.name = luaString(L, -1)
        default:
            let type = luaTypeName(L, -1)
            luaPop(L, 1)
            return .failure(OptionFailure(result: L.argumentError(index, "bad \"pool\" option type: \(type)")))
        }
        luaPop(L, 1)
        lua_getfield(L, index, "pool_size")
        if !luaIsNoneOrNil(L, -1) {
            guard lua_isnumber(L, -1) != 0 else {
                let type = luaTypeName(L, -1)
                luaPop(L, 1)
                return .failure(OptionFailure(result: L.argumentError(index, "bad \"pool_size\" option type: \(type)")))
            }
            // The reference reads an integer and prints it with `%d` (its low 32 bits).
            let size = luaToInteger(L, -1)
            guard size > 0 else {
                luaPop(L, 1)
                let shown = Int32(truncatingIfNeeded: size)
                return .failure(OptionFailure(result: L.argumentError(index, "bad \"pool_size\" option value: \(shown)")))
            }
            // The reference allocates the pool as one Lua userdata of 184 bytes an entry, which
            // LuaJIT refuses past 0x7fffff00 bytes.
            guard size <= maximumPoolSize else {
                luaPop(L, 1)
                return .failure(OptionFailure(result: L.fail("userdata length overflow")))
            }
            options.size = size
        }
        luaPop(L, 1)
        lua_getfield(L, index, "backlog")
        if !luaIsNoneOrNil(L, -1) {
            let backlog = luaToInteger(L, -1)
            guard backlog >= 0 else {
                luaPop(L, 1)
                let shown = Int32(truncatingIfNeeded: backlog)
                return .failure(OptionFailure(result: L.argumentError(index, "bad \"backlog\" option value: \(shown)")))
            }
            options.backlog = backlog
        }
        luaPop(L, 1)
        return .success(options)
    }

    // MARK: send

    static func send(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else { return L.fail("expecting 2 arguments (including the object), but got \(count)") }
        let socket: LuaSocket
        switch socketOf(L) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        guard socket.stream.hasConnection else { return L.softFailure("closed") }
        // The worker's scratch buffer: sockets are short-lived (one per request), and a send
        // that completes at once leaves the storage unshared, so `clear()` reuses it.
        let worker = LuaWorker.from(L)
        worker.sendScratch.clear()
        if let problem = appendValue(L, 2, to: &worker.sendScratch, topLevel: true) {
            return L.argumentError(2, problem)
        }
        guard let coroutine = currentCoroutine(L) else { return L.fail("no request found") }
        socket.logTimeout(.write)
        guard let result = socket.stream.send(worker.sendScratch) else {
            socket.waitForSend(coroutine)
            return .yield
        }
        socket.logIfFailed(.write, result)
        return .values(LuaSocket.pushSendResult(L, result))
    }

    /// Appends a string, number, boolean, nil or (nested) array of strings and numbers;
    /// returns the reference's complaint for anything else.
    static func appendValue(_ L: LuaState, _ index: Int32, to buffer: inout ByteBuffer, topLevel: Bool, inOneTraversal: Bool = true) -> String? {
        switch lua_type(L, index) {
        case LUA_TNUMBER where luaAppendIntegralNumber(L, index, to: &buffer):
            return nil
        case LUA_TSTRING, LUA_TNUMBER:
            var length = 0
            if let pointer = lua_tolstring(L, index, &length) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: pointer, count: length))
            }
            return nil
        case LUA_TBOOLEAN where topLevel:
            buffer.writeString(lua_toboolean(L, index) != 0 ? "true" : "false")
            return nil
        case LUA_TNIL where topLevel:
            buffer.writeString("nil")
            return nil
        case LUA_TTABLE:
            let table = index < 0 ? lua_gettop(L) + index + 1 : index
            return inOneTraversal ? appendArray(L, table, to: &buffer) : appendArrayByKeys(L, table, to: &buffer)
        default:
            if topLevel { return "string, number, boolean, nil, or array table expected, got \(luaTypeName(L, index))" }
            return "bad data type \(luaTypeName(L, index)) found"
        }
    }

    /// An array's elements in order. One traversal does it when the keys come as 1, 2, 3...
    /// (LuaJIT visits a list's array part first, in order) and every element is valid; anything
    /// else starts over with ``appendArrayByKeys(_:_:to:)``, whose complaints come in the
    /// reference's order (a key that is not an index before an element of the wrong type).
    private static func appendArray(_ L: LuaState, _ table: Int32, to buffer: inout ByteBuffer) -> String? {
        let start = buffer.writerIndex
        var expected = 1.0
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            guard lua_type(L, -2) == LUA_TNUMBER, lua_tonumber(L, -2) == expected,
                appendValue(L, -1, to: &buffer, topLevel: false) == nil
            else {
                luaPop(L, 2)
                buffer.moveWriterIndex(to: start)
                return appendArrayByKeys(L, table, to: &buffer)
            }
            luaPop(L, 1)
            expected += 1
        }
        return nil
    }

    /// The reference's way: the highest key first (every key a positive integer), then each
    /// element from 1 to it.
    private static func appendArrayByKeys(_ L: LuaState, _ table: Int32, to buffer: inout ByteBuffer) -> String? {
        var highest = 0
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            luaPop(L, 1)
            let number = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0
            guard number >= 1, number == number.rounded() else {
                luaPop(L, 1)
                return "non-array table found"
            }
            highest = max(highest, LuaNumber.clamped(number))
        }
        guard highest > 0 else { return nil }
        for position in 1...highest {
            lua_rawgeti(L, table, Int32(position))
            // Nested tables too: a failed traversal deep down must not make each level above
            // it traverse its subtree twice more (exponential in the depth).
            let problem = appendValue(L, -1, to: &buffer, topLevel: false, inOneTraversal: false)
            luaPop(L, 1)
            if let problem { return problem }
        }
        return nil
    }

    // MARK: receive

    static func receive(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 || count == 2 else {
            return L.fail("expecting 1 or 2 arguments (including the object), but got \(count)")
        }
        let socket: LuaSocket
        switch socketOf(L) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        guard socket.stream.isReadable else { return L.softFailure("closed") }
        let pattern: ReadPattern
        if count == 1 {
            pattern = .line
        } else {
            switch lua_type(L, 2) {
            case LUA_TNUMBER:
                let size = luaToInteger(L, 2)
                guard size >= 0 else { return L.argumentError(2, "bad pattern argument") }
                pattern = .bytes(size)
            case LUA_TSTRING:
                if lua_isnumber(L, 2) != 0 {
                    let size = luaToInteger(L, 2)
                    guard size >= 0 else { return L.argumentError(2, "bad pattern argument") }
                    pattern = .bytes(size)
                } else {
                    let text = luaString(L, 2) ?? ""
                    if let parsed = ReadPattern(patternString: text), text.utf8.count == 2 {
                        pattern = parsed
                    } else if text.utf8.count == 2 && text.hasPrefix("*") {
                        return L.argumentError(2, "bad pattern argument")
                    } else {
                        return L.argumentError(2, "bad pattern argument: \(text)")
                    }
                }
            default:
                return L.argumentError(2, "bad pattern argument")
            }
        }
        return startRead(L, socket, pattern, untilIteration: false)
    }

    private static func startRead(_ L: LuaState, _ socket: LuaSocket, _ pattern: ReadPattern, untilIteration: Bool) -> LuaReturn {
        guard let coroutine = currentCoroutine(L) else { return L.fail("no request found") }
        socket.logTimeout(.read)
        guard let outcome = socket.stream.receive(pattern) else {
            socket.waitForRead(coroutine, untilIteration: untilIteration)
            return .yield
        }
        socket.logIfFailed(outcome)
        return .values(LuaSocket.pushReadOutcome(L, outcome, untilIteration: untilIteration))
    }

    static func receiveAny(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else { return L.fail("expecting 2 arguments (including the object), but got \(count)") }
        let socket: LuaSocket
        switch socketOf(L) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        let maximum = luaToInteger(L, 2)
        guard lua_isnumber(L, 2) != 0, maximum > 0 else { return L.argumentError(2, "bad max argument") }
        guard socket.stream.isReadable else { return L.softFailure("closed") }
        return startRead(L, socket, .any(max: maximum), untilIteration: false)
    }

    // MARK: receiveuntil

    static func receiveUntil(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 || count == 3 else {
            return L.fail("expecting 2 or 3 arguments (including the object), but got \(count)")
        }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        guard let boundary = luaBytes(L, 2) else { return L.argumentError(2, "string expected, got \(luaTypeName(L, 2))") }
        if boundary.isEmpty { return L.softFailure("pattern is empty") }
        var inclusive = false
        if count == 3, lua_type(L, 3) != LUA_TTABLE {
            return L.argumentError(3, "table expected, got \(luaTypeName(L, 3))")
        }
        if count == 3, lua_type(L, 3) == LUA_TTABLE {
            lua_getfield(L, 3, "inclusive")
            switch lua_type(L, -1) {
            case LUA_TNIL: break
            case LUA_TBOOLEAN: inclusive = lua_toboolean(L, -1) != 0
            default:
                let type = luaTypeName(L, -1)
                luaPop(L, 1)
                return L.fail("bad \"inclusive\" option value type: \(type)")
            }
            luaPop(L, 1)
        }
        let reader = UntilReader(boundary: Array(boundary), inclusive: inclusive)
        lua_pushlightuserdata(L, LuaWorker.from(L).opaqueSelf)
        lua_pushvalue(L, 1)
        LuaBox.push(L, reader, seal: LuaWorker.from(L).boxSeal)
        lua_pushcclosure(L, { L in luaFinish(L!, SocketAPI.untilIterator(L!)) }, 3)
        return .values(1)
    }

    /// The iterator `receiveuntil` returns: upvalues are the worker, the socket table and
    /// the boxed ``UntilReader``.
    static func untilIterator(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count <= 1 else { return L.fail("expecting 0 or 1 arguments, but seen \(count)") }
        var limit: Int?
        if count == 1 {
            switch lua_type(L, 1) {
            case LUA_TNUMBER:
                let size = luaToInteger(L, 1)
                if size >= 1 { limit = size }
            case LUA_TSTRING where lua_isnumber(L, 1) != 0:
                break
            default:
                return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))")
            }
        }
        guard let reader = LuaBox.unbox(L, luaUpvalueIndex(3), as: UntilReader.self, seal: LuaWorker.from(L).boxSeal) else { return .values(0) }
        lua_settop(L, 0)
        lua_pushvalue(L, luaUpvalueIndex(2))
        let socket: LuaSocket
        switch socketOf(L) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        lua_settop(L, 0)
        guard socket.stream.isReadable else { return L.softFailure("closed") }
        return startRead(L, socket, .until(reader, limit: limit), untilIteration: limit != nil)
    }

    // MARK: Timeouts and options

    static func setTimeout(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else {
            return L.fail("ngx.socket settimeout: expecting 2 arguments (including the object) but seen \(count)")
        }
        guard let timeout = timeoutArgument(L, 2) else { return L.fail("bad timeout value") }
        return withSocketForSettings(L) { $0.stream.timeouts = .all(timeout) }
    }

    static func setTimeouts(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 4 else {
            return L.fail("ngx.socket settimeout: expecting 4 arguments (including the object) but seen \(count)")
        }
        guard let connect = timeoutArgument(L, 2), let send = timeoutArgument(L, 3), let read = timeoutArgument(L, 4) else {
            return L.fail("bad timeout value")
        }
        return withSocketForSettings(L) { $0.stream.timeouts = SocketTimeouts(connect: connect, send: send, read: read) }
    }

    /// A timeout in ms: `nil`/non-numbers/0 mean the configured default (`.some(nil)`), a
    /// negative or oversized value is invalid (`nil`).
    private static func timeoutArgument(_ L: LuaState, _ index: Int32) -> TimeAmount?? {
        // The reference: `(ngx_int_t) lua_tonumber(L, n)`, refused when `timeout >> 31`.
        let value = luaToInteger(L, index)
        guard value >= 0, value >> 31 == 0 else { return nil }
        return .some(SocketTimeouts.milliseconds(Int64(value)))
    }

    /// Settings apply to a socket that is not connected yet too, so one is created on demand.
    private static func withSocketForSettings(_ L: LuaState, _ body: (LuaSocket) -> Void) -> LuaReturn {
        withSocket(L, create: true) { socket in
            body(socket)
            return .values(0)
        }
    }

    private enum OptionTarget {
        case option(LuaSocket, TCPSocketOption)
        case fail(LuaReturn)
    }

    /// The checks `setoption` and `getoption` share, in the reference's order and words.
    private static func optionTarget(_ L: LuaState, isSetting: Bool) -> OptionTarget {
        let socket: LuaSocket
        switch socketOf(L) {
        case .socket(let found): socket = found
        case .fail: return .fail(L.fail("socket is never created nor connected"))
        }
        guard socket.stream.hasConnection else {
            if socket.context == nil { return .fail(L.fail("socket is never created nor connected")) }
            return .fail(L.softFailure("closed"))
        }
        guard lua_type(L, 2) > LUA_TNIL else { return .fail(L.softFailure("missing the \"option\" argument")) }
        if isSetting, luaIsNoneOrNil(L, 3) { return .fail(L.softFailure("missing the \"value\" argument")) }
        if lua_type(L, 2) == LUA_TSTRING, let name = luaString(L, 2), let option = TCPSocketOption(rawValue: name) {
            return .option(socket, option)
        }
        // lua-resty-core: `"unsupported option " .. tostring(option)`.
        guard let shown = luaCallToString(L, 2) else { return .fail(.rawError) }
        return .fail(L.softFailure("unsupported option \(shown)"))
    }

    static func setOption(_ L: LuaState) -> LuaReturn {
        let (socket, option): (LuaSocket, TCPSocketOption)
        switch optionTarget(L, isSetting: true) {
        case .option(let found, let name): (socket, option) = (found, name)
        case .fail(let result): return result
        }
        let value: Int
        switch lua_type(L, 3) {
        case LUA_TNONE, LUA_TNIL: return L.softFailure("missing the \"value\" argument")
        case LUA_TBOOLEAN: value = lua_toboolean(L, 3) != 0 ? 1 : 0
        // lua-resty-core passes the value to a C `int` through the FFI.
        case LUA_TNUMBER: value = Int(LuaNumber.truncated32(lua_tonumber(L, 3)))
        default:
            let type = lua_type(L, 3) == LUA_TUSERDATA || lua_type(L, 3) == LUA_TLIGHTUSERDATA ? "void *" : luaTypeName(L, 3)
            return L.fail("bad argument #3 to 'ngx_http_lua_ffi_socket_tcp_setoption' (cannot convert '\(type)' to 'int')")
        }
        // The reference answers `true` here where its other methods answer `1`.
        return pushOne(L, socket.stream.setOption(option, value: value), asBoolean: true)
    }

    static func getOption(_ L: LuaState) -> LuaReturn {
        let (socket, option): (LuaSocket, TCPSocketOption)
        switch optionTarget(L, isSetting: false) {
        case .option(let found, let name): (socket, option) = (found, name)
        case .fail(let result): return result
        }
        return pushInteger(L, socket.stream.getOption(option))
    }

    // MARK: Keepalive, close, shutdown, bind

    static func setKeepalive(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard (1...3).contains(count) else {
            return L.fail("expecting 1 to 3 arguments (including the object), but got \(count)")
        }
        var idleTimeout: TimeAmount?
        if count >= 2, !luaIsNoneOrNil(L, 2) {
            guard lua_isnumber(L, 2) != 0 else { return L.argumentError(2, "number expected, got \(luaTypeName(L, 2))") }
            let milliseconds = Int64(luaToInteger(L, 2))
            if milliseconds == 0 { idleTimeout = .zero } else if milliseconds > 0 { idleTimeout = .milliseconds(milliseconds) }
        }
        var poolSize: Int?
        if count == 3, lua_isnumber(L, 3) != 0, luaToInteger(L, 3) >= 1 { poolSize = luaToInteger(L, 3) }
        return withSocket(L) { socket in
            socket.logKeepalive(idleTimeout: idleTimeout, poolSize: poolSize)
            let result = socket.stream.setKeepalive(idleTimeout: idleTimeout, poolSize: poolSize)
            if case .success = result { socket.detachFromContext() }
            return pushOne(L, result)
        }
    }

    static func getReusedTimes(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("expecting 1 argument (including the object), but got \(count)") }
        return withSocket(L) { socket in pushInteger(L, socket.stream.reusedTimes()) }
    }

    static func close(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("expecting 1 argument (including the object) but seen \(count)") }
        return withSocket(L) { socket in
            let result = socket.stream.close()
            if case .success = result { socket.detachFromContext() }
            return pushOne(L, result)
        }
    }

    /// `shutdown("send")`: not in the reference's 0.10.23 (later upstream versions have it).
    static func shutdown(_ L: LuaState) -> LuaReturn {
        guard lua_gettop(L) == 2, luaString(L, 2) == "send" else {
            return L.argumentError(2, "only \"send\" is supported")
        }
        return withSocket(L) { socket in pushOne(L, socket.stream.shutdownSend()) }
    }

    /// Runs `body` with the socket behind argument 1, or returns what `socketOf` objected.
    private static func withSocket(_ L: LuaState, create: Bool = false, _ body: (LuaSocket) -> LuaReturn) -> LuaReturn {
        switch socketOf(L, create: create) {
        case .socket(let socket): return body(socket)
        case .fail(let result): return result
        }
    }

    /// A number, or the reference's `nil, err`.
    private static func pushInteger(_ L: LuaState, _ result: Result<Int, CosocketError>) -> LuaReturn {
        switch result {
        case .success(let value):
            lua_pushinteger(L, lua_Integer(value))
            return .values(1)
        case .failure(let error):
            return L.softFailure(error.message)
        }
    }

    /// The reference's `1` (or `true`) or `nil, err`.
    static func pushOne(_ L: LuaState, _ result: Result<Void, CosocketError>, asBoolean: Bool = false) -> LuaReturn {
        switch result {
        case .success:
            if asBoolean { lua_pushboolean(L, 1) } else { lua_pushinteger(L, 1) }
            return .values(1)
        case .failure(let error):
            return L.softFailure(error.message)
        }
    }

    static func bind(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else { return L.fail("expecting 2 arguments, but got \(count)") }
        guard lua_type(L, 2) == LUA_TSTRING || lua_type(L, 2) == LUA_TNUMBER else {
            return L.argumentError(2, "string expected, got \(luaTypeName(L, 2))")
        }
        guard lua_type(L, 2) == LUA_TSTRING, let text = luaString(L, 2),
            let address = try? SocketAddress(ipAddress: text, port: 0)
        else { return L.softFailure("bad address") }
        return withSocket(L, create: true) { socket in
            socket.stream.bind(to: address)
            lua_pushboolean(L, 1)
            return .values(1)
        }
    }
}
