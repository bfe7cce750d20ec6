import CLuaJIT
import CosocketCore

/// `ngx.req.socket()` and `ngx.req.socket(true)`: cosockets over the client connection, with
/// the reference's rules. Their objects are ``LuaSocket``s like `ngx.socket.tcp()`'s, so the
/// methods are ``SocketAPI``'s; each kind's metatable lists only the methods the reference
/// gives it.
enum RequestSocketAPI {
    private static let bodyMetatable = LuaRegistrySlot()
    private static let rawMetatable = LuaRegistrySlot()

    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        let reading: [(String, lua_CFunction)] = [
            ("receive", { L in luaFinish(L!, SocketAPI.receive(L!)) }),
            ("receiveany", { L in luaFinish(L!, SocketAPI.receiveAny(L!)) }),
            ("receiveuntil", { L in luaFinish(L!, SocketAPI.receiveUntil(L!)) }),
            ("settimeout", { L in luaFinish(L!, SocketAPI.setTimeout(L!)) }),
            ("settimeouts", { L in luaFinish(L!, SocketAPI.setTimeouts(L!)) }),
        ]
        // The reference's raw socket has no `close`: the connection ends with the request.
        let writing: [(String, lua_CFunction)] = [
            ("send", { L in luaFinish(L!, SocketAPI.send(L!)) }),
        ]
        for (slot, methods) in [(bodyMetatable, reading), (rawMetatable, reading + writing)] {
            lua_createtable(L, 0, Int32(methods.count + 1))
            for (name, function) in methods { luaSetField(L, -1, name, function, upvalue: worker) }
            lua_pushvalue(L, -1)
            lua_setfield(L, -2, "__index")
            slot.store(L)
        }
    }

    /// `ngx.req.socket(raw?)`.
    static func socket(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count <= 1 else { return L.fail("expecting zero arguments, but got \(count)") }
        let raw = count == 1 && lua_toboolean(L, 1) != 0
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current, let host = coroutine.context.request else { return L.fail("no request found") }
        switch coroutine.context.phaseName {
        case "rewrite", "access", "content": break
        default: return L.fail("API disabled in the context of \(coroutine.context.disabledContextName)")
        }
        if !raw, case .failure(.chunked) = host.requestBodyStream(probing: true) {
            // A chunked body still arriving: the socket comes once it is here, de-chunked.
            coroutine.wait = .requestBody
            let waited = host.waitForBody(whenRead: {
                worker.wake(coroutine, with: .push({ L in makeSocket(L, worker: worker, coroutine: coroutine, host: host, raw: false) }))
            })
            if !waited {
                lua_settop(L, 0)
                return .yield
            }
            coroutine.wait = nil
        }
        lua_settop(L, 0)
        return .values(makeSocket(L, worker: worker, coroutine: coroutine, host: host, raw: raw))
    }

    /// Pushes the request socket, or `nil, err`.
    private static func makeSocket(_ L: LuaState, worker: LuaWorker, coroutine: LuaCoroutine, host: any LuaRequestHost, raw: Bool) -> Int32 {
        let stream: AcceptedStream
        let limit: Int?
        if raw {
            switch host.rawRequestStream() {
            case .success(let found): (stream, limit) = (found, nil)
            case .failure(let refusal): return pushRefusal(L, refusal)
            }
        } else {
            switch host.requestBodyStream(probing: false) {
            case .success(let found): (stream, limit) = (found.stream, found.length)
            case .failure(let refusal): return pushRefusal(L, refusal)
            }
        }
        let socket = worker.spareSockets.popLast() ?? LuaSocket(worker: worker)
        socket.context = coroutine.context
        socket.contextSerial = coroutine.context.serial
        socket.isTracked = true
        socket.isListed = true
        coroutine.context.track(socket)
        socket.stream.adopt(stream, limit: limit)
        lua_createtable(L, 1, 0)
        LuaBox.push(L, socket, seal: worker.boxSeal)
        lua_rawseti(L, -2, 1)
        (raw ? rawMetatable : bodyMetatable).push(L)
        lua_setmetatable(L, -2)
        return 1
    }

    private static func pushRefusal(_ L: LuaState, _ refusal: RequestSocketRefusal) -> Int32 {
        lua_pushnil(L)
        luaPushString(L, refusal.rawValue)
        return 2
    }

    /// `ngx.req.read_body()`: yields until the body has arrived.
    static func readBody(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current else { return L.fail("no request found") }
        // ngx_http_lua_ngx_req_read_body's context mask.
        guard ["rewrite", "access", "content"].contains(coroutine.context.phaseName) else {
            return L.fail("API disabled in the context of \(coroutine.context.disabledContextName)")
        }
        guard let host = coroutine.context.request else { return L.fail("no request found") }
        // Set first: the body may arrive (and wake us) before `readBody` returns.
        coroutine.wait = .requestBody
        if host.readBody(whenRead: { worker.wake(coroutine, with: .nothing) }) {
            coroutine.wait = nil
            return .values(0)
        }
        lua_settop(L, 0)
        return .yield
    }
}
