import CLuaJIT
import CosocketCore

/// `tcpsock:sslhandshake` and `tcpsock:setclientcert`, with lua-resty-core's argument checks
/// and return values (its `resty/core/socket.lua` runs them in the reference, so its errors
/// name that file), over ``StreamSocket/tlsHandshake(_:)``.
extension SocketAPI {
    static let restyCoreSocket = "/usr/share/lua/5.1/resty/core/socket.lua"
    /// Where the reference's socket.lua keeps the client certificate and key in the object.
    private static let clientCertSlot: Int32 = 6
    private static let clientKeySlot: Int32 = 7

    /// A Lua error raised inside lua-resty-core's socket.lua, at its line `line`.
    private static func restyCoreError(_ L: LuaState, line: Int, _ message: String) -> LuaReturn {
        luaPushString(L, "\(restyCoreSocket):\(line): \(message)")
        return .rawError
    }

    /// `sock:sslhandshake(reused_session?, server_name?, ssl_verify?, send_status_req?)`.
    static func sslHandshake(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        let hasSelf = count >= 1 && lua_toboolean(L, 1) != 0
        guard hasSelf, count <= 5 else {
            return restyCoreError(L, line: 187, "ngx.socket sslhandshake: expecting 1 ~ 5 arguments (including the object), but seen \(hasSelf ? count : 0)")
        }
        guard let coroutine = currentCoroutine(L) else { return L.fail("no request found") }
        let worker = LuaWorker.from(L)
        var options = TLSHandshakeOptions()
        options.session = LuaBox.unbox(L, 2, as: TLSSession.self, seal: worker.boxSeal)
        let wantsSession = !(lua_type(L, 2) == LUA_TBOOLEAN && lua_toboolean(L, 2) == 0)
        if lua_toboolean(L, 3) != 0 {
            // The FFI takes the name as a `const unsigned char *`.
            guard lua_type(L, 3) == LUA_TSTRING else {
                return restyCoreError(L, line: 199, "cannot convert '\(luaTypeName(L, 3))' to 'const unsigned char *'")
            }
            options.serverName = luaString(L, 3)
        }
        if !luaIsNoneOrNil(L, 4) { options.verify = lua_toboolean(L, 4) != 0 }
        options.statusRequest = lua_toboolean(L, 5) != 0
        guard lua_type(L, 1) == LUA_TTABLE else {
            return restyCoreError(L, line: 81, "socket is never created nor connected")
        }
        lua_rawgeti(L, 1, 1)
        let created = !luaIsNoneOrNil(L, -1)
        luaPop(L, 1)
        guard created else { return restyCoreError(L, line: 81, "socket is never created nor connected") }
        lua_rawgeti(L, 1, clientCertSlot)
        lua_rawgeti(L, 1, clientKeySlot)
        if let chain = FFISSLHandles.value(L, -2, as: TLSCertificateChain.self, seal: worker.boxSeal),
            let key = FFISSLHandles.value(L, -1, as: TLSPrivateKey.self, seal: worker.boxSeal)
        {
            options.clientCertificate = (chain, key)
        }
        luaPop(L, 2)
        let socket: LuaSocket
        switch socketOf(L) {
        case .socket(let found): socket = found
        case .fail(let result): return result
        }
        let alreadyTLS = socket.stream.isTLSEstablished
        guard let result = socket.stream.tlsHandshake(options) else {
            socket.handshakeWaiter = coroutine
            socket.handshakeReturnsTrue = !wantsSession
            coroutine.wait = .socket(socket)
            return .yield
        }
        if alreadyTLS, case .success = result, options.session != nil {
            // The reference hands the given session back (FFI_DONE).
            lua_settop(L, 2)
            return .values(1)
        }
        socket.logHandshakeFailure(result)
        return .values(LuaSocket.pushHandshakeResult(L, result, returnsTrue: !wantsSession, seal: worker.boxSeal))
    }

    /// `sock:setclientcert(cert, pkey)`: kept in the object for its next handshakes.
    static func setClientCert(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard lua_type(L, 1) == LUA_TTABLE else { return L.argumentError(1, "table expected, got \(luaTypeName(L, 1))") }
        let hasCert = lua_toboolean(L, 2) != 0
        let hasKey = lua_toboolean(L, 3) != 0
        if !hasCert && !hasKey {
            lua_pushnil(L)
            lua_rawseti(L, 1, clientCertSlot)
            lua_pushnil(L)
            lua_rawseti(L, 1, clientKeySlot)
            lua_pushboolean(L, 1)
            return .values(1)
        }
        guard hasCert, hasKey else { return L.softFailure("client certificate must be supplied with corresponding private key") }
        guard FFISSLHandles.value(L, 2, as: TLSCertificateChain.self, seal: worker.boxSeal) != nil else {
            return L.softFailure("bad cert arg: cdata expected, got \(luaTypeName(L, 2))")
        }
        guard FFISSLHandles.value(L, 3, as: TLSPrivateKey.self, seal: worker.boxSeal) != nil else {
            return L.softFailure("bad pkey arg: cdata expected, got \(luaTypeName(L, 3))")
        }
        lua_pushvalue(L, 2)
        lua_rawseti(L, 1, clientCertSlot)
        lua_pushvalue(L, 3)
        lua_rawseti(L, 1, clientKeySlot)
        lua_pushboolean(L, 1)
        return .values(1)
    }
}

extension LuaSocket {
    func socketDidHandshake(_ socket: StreamSocket, result: Result<TLSSession, CosocketError>) {
        guard let waiter = handshakeWaiter else { return }
        handshakeWaiter = nil
        logHandshakeFailure(result)
        let returnsTrue = handshakeReturnsTrue
        let seal = worker.boxSeal
        worker.wake(waiter, with: .push { L in LuaSocket.pushHandshakeResult(L, result, returnsTrue: returnsTrue, seal: seal) })
    }

    /// The session (a userdata), or `true` when the caller passed `false` for it, or `nil, err`.
    static func pushHandshakeResult(_ L: LuaState, _ result: Result<TLSSession, CosocketError>, returnsTrue: Bool, seal: UnsafeRawPointer?) -> Int32 {
        switch result {
        case .success(let session):
            if returnsTrue {
                lua_pushboolean(L, 1)
            } else {
                LuaBox.push(L, session, seal: seal)
            }
            return 1
        case .failure(let error):
            lua_pushnil(L)
            luaPushString(L, error.message)
            return 2
        }
    }

    /// The reference logs why a handshake failed (unless `lua_socket_log_errors off`).
    func logHandshakeFailure(_ result: Result<TLSSession, CosocketError>) {
        guard case .failure(let error) = result, stream.defaults.logErrors else { return }
        switch error {
        case .tlsVerifyFailed(let code, let reason):
            worker.log(.error, "lua ssl certificate verify error: (\(code): \(reason))", in: context)
        case .tlsHostMismatch(let host):
            worker.log(.error, "lua ssl certificate does not match host \"\(host)\"", in: context)
        case .tlsHandshakeFailed(let log):
            worker.log(.error, log, in: context)
        default:
            break
        }
    }
}

/// `require "ngx.ssl"`: lua-resty-core's PEM parsers, for `setclientcert`. Debian's
/// `ngx/ssl.lua` would need the FFI of nginx's SSL server internals; this native module serves
/// what a cosocket client needs, with its return values and messages.
enum SSLModuleAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_getfield(L, luaGlobalsIndex, "package")
        lua_getfield(L, -1, "loaded")
        lua_createtable(L, 0, 3)
        luaPushString(L, "0.1.25")
        lua_setfield(L, -2, "version")
        luaSetField(L, -1, "parse_pem_cert", { L in luaFinish(L!, SSLModuleAPI.parse(L!, certificate: true)) }, upvalue: worker)
        luaSetField(L, -1, "parse_pem_priv_key", { L in luaFinish(L!, SSLModuleAPI.parse(L!, certificate: false)) }, upvalue: worker)
        lua_setfield(L, -2, "ngx.ssl")
        luaPop(L, 2)
    }

    private static func parse(_ L: LuaState, certificate: Bool) -> LuaReturn {
        // ngx/ssl.lua reads `#pem` first.
        guard let pem = luaBytes(L, 1) else {
            let line = certificate ? 371 : 384
            let type = lua_type(L, 1) == LUA_TNONE ? "nil" : luaTypeName(L, 1)
            luaPushString(L, "/usr/share/lua/5.1/ngx/ssl.lua:\(line): attempt to get length of local 'pem' (a \(type) value)")
            return .rawError
        }
        let seal = LuaWorker.from(L).boxSeal
        do {
            if certificate {
                LuaBox.push(L, try TLSCertificateChain(pem: pem), seal: seal)
            } else {
                LuaBox.push(L, try TLSPrivateKey(pem: pem), seal: seal)
            }
            return .values(1)
        } catch {
            return L.softFailure(error.message)
        }
    }
}
