import CLuaJIT
import CosocketCore
import NIOCore

/// `ngx.socket.udp` and the methods of its objects (`setpeername`, `send`, `receive`,
/// `settimeout`, `close`, and `bind`, which 0.10.23 lacks), with the reference's argument
/// checks, return values and error strings.
///
/// As in lua-nginx-module, an object is a table whose slot 1 holds the socket (here the
/// boxed ``LuaUDPSocket``, created by the first `setpeername` or `bind`) and whose slot 2 holds
/// the value `settimeout` was given; the metatable is its own `__index`.
enum UDPSocketAPI {
    private static let metatable = LuaRegistrySlot()
    private static let timeoutSlot: Int32 = 2

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 8)
        lua_pushvalue(L, -1)
        metatable.store(L)
        let methods: [(String, lua_CFunction)] = [
            ("setpeername", { L in luaFinish(L!, UDPSocketAPI.setPeerName(L!)) }),
            ("send", { L in luaFinish(L!, UDPSocketAPI.send(L!)) }),
            ("receive", { L in luaFinish(L!, UDPSocketAPI.receive(L!)) }),
            ("settimeout", { L in luaFinish(L!, UDPSocketAPI.setTimeout(L!)) }),
            ("close", { L in luaFinish(L!, UDPSocketAPI.close(L!)) }),
            ("bind", { L in luaFinish(L!, UDPSocketAPI.bind(L!)) }),
        ]
        for (name, function) in methods { luaSetField(L, -1, name, function, upvalue: worker) }
        lua_pushvalue(L, -1)
        lua_setfield(L, -2, "__index")
        luaPop(L, 1)
    }

    /// `ngx.socket.udp()`: a new socket table.
    static func create(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        if count != 0 { return L.fail("expecting zero arguments, but got \(count)") }
        lua_createtable(L, 3, 1)
        metatable.push(L)
        lua_setmetatable(L, -2)
        return .values(1)
    }

    // MARK: Self

    /// The socket in slot 1 of the table at index 1, if any (the caller checked the type).
    private static func existingSocket(_ L: LuaState) -> LuaUDPSocket? {
        let worker = LuaWorker.from(L)
        lua_rawgeti(L, 1, 1)
        let socket = LuaBox.unbox(L, -1, as: LuaUDPSocket.self, seal: worker.boxSeal)
        luaPop(L, 1)
        return socket
    }

    private static func createSocket(_ L: LuaState) -> LuaUDPSocket {
        let worker = LuaWorker.from(L)
        let socket = LuaUDPSocket(worker: worker)
        LuaBox.push(L, socket, seal: worker.boxSeal)
        lua_rawseti(L, 1, 1)
        return socket
    }

    /// Whether `socket` belongs to another request than the running one (the reference raises
    /// `bad request` then).
    private static func isForeign(_ L: LuaState, _ socket: LuaUDPSocket) -> Bool {
        guard socket.contextSerial != 0, let current = LuaWorker.from(L).current else { return false }
        return socket.contextSerial != current.context.serial
    }

    private enum Checked {
        case socket(LuaUDPSocket)
        case fail(LuaReturn)
    }

    /// The reference's preamble of `send`, `receive` and `close`: a table, associated (else
    /// `nil, "closed"`, which `send` and `receive` also log as `logged`), of this request (else
    /// raises `bad request`).
    private static func associatedSocket(_ L: LuaState, logging logged: String? = nil) -> Checked {
        guard lua_type(L, 1) == LUA_TTABLE else { return .fail(L.argumentError(1, "table expected, got \(luaTypeName(L, 1))")) }
        guard let socket = existingSocket(L), socket.datagram.state.phase != .idle else {
            let worker = LuaWorker.from(L)
            if let logged, worker.engine.configuration.logErrors {
                worker.log(.error, "attempt to \(logged) data on a closed socket: u:0000000000000000, c:0000000000000000", in: worker.current?.context)
            }
            return .fail(L.softFailure("closed"))
        }
        if isForeign(L, socket) { return .fail(L.fail("bad request")) }
        return .socket(socket)
    }

    // MARK: setpeername

    static func setPeerName(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 || count == 3 else {
            return L.fail("ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen \(count)")
        }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        let hostType = lua_type(L, 2)
        guard hostType == LUA_TSTRING || hostType == LUA_TNUMBER, let host = luaString(L, 2) else {
            return L.argumentError(2, "string expected, got \(luaTypeName(L, 2))")
        }
        var port = 0
        if count == 3 {
            guard lua_isnumber(L, 3) != 0 else { return L.argumentError(3, "number expected, got \(luaTypeName(L, 3))") }
            // `luaL_checkinteger` into an `int`.
            port = Int(Int32(truncatingIfNeeded: luaToInteger(L, 3)))
            guard (0...65535).contains(port) else { return L.softFailure("bad port number: \(port)") }
        }
        let socket: LuaUDPSocket
        if let existing = existingSocket(L) {
            if isForeign(L, existing) { return L.fail("bad request") }
            if existing.datagram.state.isWaiting { return L.softFailure("socket busy") }
            socket = existing
        } else {
            socket = createSocket(L)
        }
        guard let coroutine = LuaWorker.from(L).current else { return L.fail("no request found") }
        lua_rawgeti(L, 1, timeoutSlot)
        let timeout = luaToInteger(L, -1)
        luaPop(L, 1)
        socket.datagram.readTimeout = timeout > 0 ? .milliseconds(Int64(timeout)) : nil
        socket.attach(to: coroutine.context)
        let target: ConnectTarget
        switch DatagramPeer.parse(host, port: port) {
        case .success(let parsed): target = parsed
        case .failure(let error):
            // The reference has already let the old association go.
            _ = socket.datagram.close()
            return L.softFailure(error.message)
        }
        lua_settop(L, 0)
        guard let result = socket.datagram.connect(to: target) else {
            socket.wait(coroutine)
            return .yield
        }
        return .values(LuaSocket.pushConnectResult(L, result))
    }

    // MARK: send, receive

    static func send(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else { return L.fail("expecting 2 arguments (including the object), but got \(count)") }
        let socket: LuaUDPSocket
        switch associatedSocket(L, logging: "send") {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        if socket.datagram.state.isWaiting { return L.softFailure("socket busy") }
        let worker = LuaWorker.from(L)
        worker.sendScratch.clear()
        // The same rules as the stream socket's `send` (the reference shares them).
        if let problem = SocketAPI.appendValue(L, 2, to: &worker.sendScratch, topLevel: true) {
            return L.argumentError(2, problem)
        }
        let result = socket.datagram.send(worker.sendScratch)
        socket.logIfFailed("send()", result)
        return SocketAPI.pushOne(L, result)
    }

    static func receive(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 || count == 2 else {
            return L.fail("expecting 1 or 2 arguments (including the object), but got \(count)")
        }
        let socket: LuaUDPSocket
        switch associatedSocket(L, logging: "receive") {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        if socket.datagram.state.isWaiting { return L.softFailure("socket busy") }
        var requested: Double?
        if count == 2, !luaIsNoneOrNil(L, 2) {
            guard lua_isnumber(L, 2) != 0 else { return L.argumentError(2, "number expected, got \(luaTypeName(L, 2))") }
            requested = lua_tonumber(L, 2)
        }
        guard let coroutine = LuaWorker.from(L).current else { return L.fail("no request found") }
        lua_settop(L, 0)
        guard let result = socket.datagram.receive(maximum: DatagramSocketState.receiveSize(requested)) else {
            socket.wait(coroutine)
            return .yield
        }
        socket.logIfFailed("recv()", result)
        return .values(LuaUDPSocket.pushReceiveResult(L, result))
    }

    // MARK: settimeout, close, bind

    static func setTimeout(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else {
            return L.fail("ngx.socket settimeout: expecting at least 2 arguments (including the object) but seen \(count)")
        }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        let timeout = LuaNumber.truncated(lua_tonumber(L, 2))
        lua_rawseti(L, 1, timeoutSlot)
        if let socket = existingSocket(L) {
            socket.datagram.readTimeout = timeout > 0 ? .milliseconds(Int64(timeout)) : nil
        }
        return .values(0)
    }

    static func close(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("expecting 1 argument (including the object) but seen \(count)") }
        let socket: LuaUDPSocket
        switch associatedSocket(L) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        return SocketAPI.pushOne(L, socket.datagram.close())
    }

    /// `bind(ip)`: the local address of the next `setpeername` (a later upstream method; the
    /// stream socket's `bind` rules).
    static func bind(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 2 else { return L.fail("expecting 2 arguments, but got \(count)") }
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        guard lua_type(L, 2) == LUA_TSTRING || lua_type(L, 2) == LUA_TNUMBER else {
            return L.argumentError(2, "string expected, got \(luaTypeName(L, 2))")
        }
        guard lua_type(L, 2) == LUA_TSTRING, let text = luaString(L, 2),
            let address = try? SocketAddress(ipAddress: text, port: 0)
        else { return L.softFailure("bad address") }
        let socket = existingSocket(L) ?? createSocket(L)
        if isForeign(L, socket) { return L.fail("bad request") }
        socket.datagram.bind(to: address)
        lua_pushboolean(L, 1)
        return .values(1)
    }
}
