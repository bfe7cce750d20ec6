import CLuaJIT
import CosocketCore
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The `ngx` table: what lua-resty-* libraries and OpenResty code expect to find, injected the
/// way lua-nginx-module injects it (C functions with the worker as upvalue).
extension LuaWorker {
    func installNgxAPI() {
        let L = state
        let worker = opaqueSelf
        boxSeal = LuaBox.installMetatable(L, worker: worker)
        SocketAPI.install(L, worker: worker)
        UDPSocketAPI.install(L, worker: worker)
        RequestSocketAPI.install(L, worker: worker)

        lua_createtable(L, 0, 64)

        // ngx.socket
        lua_createtable(L, 0, 4)
        luaSetField(L, -1, "tcp", { L in luaFinish(L!, SocketAPI.create(L!)) }, upvalue: worker)
        lua_getfield(L, -1, "tcp")
        lua_setfield(L, -2, "stream")
        luaSetField(L, -1, "udp", { L in luaFinish(L!, UDPSocketAPI.create(L!)) }, upvalue: worker)
        lua_setfield(L, -2, "socket")

        NgxCoreAPI.install(L, worker: worker)
        SubrequestAPI.install(L, worker: worker)
        ThreadAPI.install(L, worker: worker)
        TimerAPI.install(L, worker: worker)
        CodecAPI.install(L, worker: worker)
        RequestAPI.install(L, worker: worker)
        RegexAPI.install(L, worker: worker)
        SharedDictAPI.install(L, worker: worker, zones: configuration.sharedDictZones)
        SemaphoreAPI.install(L, worker: worker)
        NgxModulesAPI.install(L, worker: worker)
        WorkerThreadAPI.install(L, worker: worker)
        SSLModuleAPI.install(L, worker: worker)
        // The global `print` is `ngx.log(ngx.NOTICE, ...)`, as the reference defines it.
        lua_pushlightuserdata(L, worker)
        lua_pushcclosure(L, { L in
            lua_pushinteger(L!, lua_Integer(LuaLogLevel.notice.rawValue))
            lua_insert(L!, 1)
            return luaFinish(L!, NgxCoreAPI.log(L!))
        }, 1)
        lua_setfield(L, luaGlobalsIndex, "print")

        luaPublishModule(L, "ngx")
        luaPop(L, 1)
        installNgxArg()
    }
}

/// Output, logging, time, exit, sleep, phase, configuration and worker facts.
enum NgxCoreAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        let functions: [(String, lua_CFunction)] = [
            ("say", { L in luaFinish(L!, NgxCoreAPI.output(L!, newline: true)) }),
            ("print", { L in luaFinish(L!, NgxCoreAPI.output(L!, newline: false)) }),
            ("flush", { L in luaFinish(L!, NgxCoreAPI.flush(L!)) }),
            ("eof", { L in luaFinish(L!, NgxCoreAPI.endOutput(L!)) }),
            ("send_headers", { L in luaFinish(L!, NgxCoreAPI.sendHeaders(L!)) }),
            ("on_abort", { L in luaFinish(L!, NgxCoreAPI.onAbort(L!)) }),
            ("log", { L in luaFinish(L!, NgxCoreAPI.log(L!)) }),
            ("exit", { L in luaFinish(L!, NgxCoreAPI.exit(L!)) }),
            ("redirect", { L in luaFinish(L!, NgxCoreAPI.redirect(L!)) }),
            ("sleep", { L in luaFinish(L!, NgxCoreAPI.sleep(L!)) }),
            ("now", { L in lua_pushnumber(L, Clock.now()); return 1 }),
            ("time", { L in lua_pushinteger(L, lua_Integer(Clock.now())); return 1 }),
            ("update_time", { _ in
                SharedDict.refreshCachedTime()
                return 0
            }),
            ("today", { L in luaPushString(L!, Clock.format("%Y-%m-%d", utc: false)); return 1 }),
            ("localtime", { L in luaPushString(L!, Clock.format("%Y-%m-%d %H:%M:%S", utc: false)); return 1 }),
            ("utctime", { L in luaPushString(L!, Clock.format("%Y-%m-%d %H:%M:%S", utc: true)); return 1 }),
            ("http_time", { L in luaFinish(L!, NgxCoreAPI.httpTime(L!, HTTPDate.format)) }),
            ("cookie_time", { L in luaFinish(L!, NgxCoreAPI.httpTime(L!, HTTPDate.cookie)) }),
            ("parse_http_time", { L in luaFinish(L!, NgxCoreAPI.parseHTTPTime(L!)) }),
            ("get_phase", { L in
                luaPushString(L!, LuaWorker.from(L!).current?.context.phaseName ?? "init")
                return 1
            }),
        ]
        for (name, function) in functions { luaSetField(L, -1, name, function, upvalue: worker) }

        lua_pushlightuserdata(L, nil)
        lua_setfield(L, -2, "null")
        let constants: [(String, lua_Integer)] = [
            ("OK", 0), ("ERROR", -1), ("AGAIN", -2), ("DONE", -4), ("DECLINED", -5),
            ("STDERR", 0), ("EMERG", 1), ("ALERT", 2), ("CRIT", 3), ("ERR", 4), ("WARN", 5),
            ("NOTICE", 6), ("INFO", 7), ("DEBUG", 8),
            ("HTTP_CONTINUE", 100), ("HTTP_SWITCHING_PROTOCOLS", 101), ("HTTP_OK", 200), ("HTTP_CREATED", 201),
            ("HTTP_ACCEPTED", 202), ("HTTP_NO_CONTENT", 204), ("HTTP_PARTIAL_CONTENT", 206),
            ("HTTP_SPECIAL_RESPONSE", 300), ("HTTP_MOVED_PERMANENTLY", 301), ("HTTP_MOVED_TEMPORARILY", 302),
            ("HTTP_SEE_OTHER", 303), ("HTTP_NOT_MODIFIED", 304), ("HTTP_TEMPORARY_REDIRECT", 307),
            ("HTTP_PERMANENT_REDIRECT", 308), ("HTTP_BAD_REQUEST", 400), ("HTTP_UNAUTHORIZED", 401),
            ("HTTP_PAYMENT_REQUIRED", 402), ("HTTP_FORBIDDEN", 403), ("HTTP_NOT_FOUND", 404),
            ("HTTP_NOT_ALLOWED", 405), ("HTTP_NOT_ACCEPTABLE", 406), ("HTTP_REQUEST_TIMEOUT", 408),
            ("HTTP_CONFLICT", 409), ("HTTP_GONE", 410), ("HTTP_UPGRADE_REQUIRED", 426),
            ("HTTP_TOO_MANY_REQUESTS", 429), ("HTTP_CLOSE", 444), ("HTTP_ILLEGAL", 451),
            ("HTTP_INTERNAL_SERVER_ERROR", 500), ("HTTP_METHOD_NOT_IMPLEMENTED", 501), ("HTTP_NOT_IMPLEMENTED", 501), ("HTTP_BAD_GATEWAY", 502),
            ("HTTP_SERVICE_UNAVAILABLE", 503), ("HTTP_GATEWAY_TIMEOUT", 504), ("HTTP_VERSION_NOT_SUPPORTED", 505),
            ("HTTP_INSUFFICIENT_STORAGE", 507),
            ("HTTP_GET", 2), ("HTTP_HEAD", 4), ("HTTP_POST", 8), ("HTTP_PUT", 16), ("HTTP_DELETE", 32),
            ("HTTP_MKCOL", 64), ("HTTP_COPY", 128), ("HTTP_MOVE", 256), ("HTTP_OPTIONS", 512),
            ("HTTP_PROPFIND", 1024), ("HTTP_PROPPATCH", 2048), ("HTTP_LOCK", 4096), ("HTTP_UNLOCK", 8192),
            ("HTTP_PATCH", 16384), ("HTTP_TRACE", 32768),
        ]
        for (name, value) in constants {
            lua_pushinteger(L, value)
            lua_setfield(L, -2, name)
        }

        installConfig(L, worker: worker, prefix: Unmanaged<LuaWorker>.fromOpaque(worker).takeUnretainedValue().configuration.prefix)

        // ngx.worker
        lua_createtable(L, 0, 4)
        luaSetField(L, -1, "id", { L in lua_pushinteger(L, lua_Integer(LuaWorker.from(L!).workerID)); return 1 }, upvalue: worker)
        luaSetField(L, -1, "pid", { L in lua_pushinteger(L, lua_Integer(getpid())); return 1 }, upvalue: worker)
        luaSetField(L, -1, "count", { L in
            lua_pushinteger(L, lua_Integer(LuaWorker.from(L!).configuration.workerCount))
            return 1
        }, upvalue: worker)
        // Every worker is a thread of this one process.
        luaSetField(L, -1, "pids", { L in
            let L = L!
            let count = max(1, LuaWorker.from(L).configuration.workerCount)
            lua_createtable(L, Int32(clamping: count), 0)
            for index in 1...count {
                lua_pushinteger(L, lua_Integer(getpid()))
                lua_rawseti(L, -2, Int32(clamping: index))
            }
            return 1
        }, upvalue: worker)
        luaSetField(L, -1, "exiting", { L in lua_pushboolean(L, LuaWorker.from(L!).isShuttingDown ? 1 : 0); return 1 }, upvalue: worker)
        lua_setfield(L, -2, "worker")

        installContextTable(L, worker: worker)
    }

    /// `ngx.ctx` is per request: the `ngx` table's metatable serves and replaces it.
    private static func installContextTable(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        lua_createtable(L, 0, 2)
        luaSetField(L, -1, "__index", { L in
            let L = L!
            if luaString(L, 2) == "status" {
                guard let context = LuaWorker.from(L).current?.context, let host = context.request else { return 0 }
                lua_pushinteger(L, lua_Integer(context.readsSetStatus ? host.status : host.luaStatus))
                return 1
            }
            if luaString(L, 2) == "is_subrequest" {
                guard let host = LuaWorker.from(L).current?.context.request else { return 0 }
                lua_pushboolean(L, host.isSubrequest ? 1 : 0)
                return 1
            }
            if luaString(L, 2) == "headers_sent" {
                guard let context = LuaWorker.from(L).current?.context, context.output != nil || context.request != nil else { return 0 }
                lua_pushboolean(L, context.headersSentForLua ? 1 : 0)
                return 1
            }
            guard luaString(L, 2) == "ctx", let context = LuaWorker.from(L).current?.context.ctxHolder else { return 0 }
            if context.ctxReference == LUA_NOREF {
                luaNewTable(L)
                lua_pushvalue(L, -1)
                context.ctxReference = luaL_ref(L, luaRegistryIndex)
                return 1
            }
            lua_rawgeti(L, luaRegistryIndex, context.ctxReference)
            return 1
        }, upvalue: worker)
        luaSetField(L, -1, "__newindex", { L in
            let L = L!
            if luaString(L, 2) == "status", let context = LuaWorker.from(L).current?.context,
               let host = context.request {
                if context.headersSentForLua {
                    // The reference logs this and carries on.
                    LuaWorker.from(L).log(.error, "attempt to set ngx.status after sending out response headers")
                } else {
                    // resty.core hands the value to an `int` parameter: a number or a numeric string.
                    guard lua_isnumber(L, 3) != 0 else {
                        return luaFinish(L, L.fail("bad argument #2 to 'ngx_http_lua_ffi_set_resp_status' (cannot convert '\(luaTypeName(L, 3))' to 'int')"))
                    }
                    host.status = luaToInteger(L, 3)
                }
                return 0
            }
            guard luaString(L, 2) == "ctx" else {
                lua_rawset(L, 1)
                return 0
            }
            guard let context = LuaWorker.from(L).current?.context.ctxHolder else { return 0 }
            if context.ctxReference != LUA_NOREF { luaL_unref(L, luaRegistryIndex, context.ctxReference) }
            lua_pushvalue(L, 3)
            context.ctxReference = luaL_ref(L, luaRegistryIndex)
            return 0
        }, upvalue: worker)
        lua_setmetatable(L, -2)
    }

    // MARK: Output

    /// The current context's response, or the reference's error for contexts without one.
    private static func withOutput(_ L: LuaState, _ body: (LuaCoroutine, any LuaOutput) -> LuaReturn) -> LuaReturn {
        guard let coroutine = LuaWorker.from(L).current else { return L.fail("no request found") }
        guard let sink = coroutine.context.output else {
            return L.fail("API disabled in the context of \(coroutine.context.disabledContextName)")
        }
        return body(coroutine, sink)
    }

    static func output(_ L: LuaState, newline: Bool) -> LuaReturn {
        withOutput(L) { coroutine, sink in
            if isHeaderOnly(coroutine, sink) { return L.softFailure("header only") }
            return output(L, newline: newline, to: sink)
        }
    }

    /// A HEAD response whose head is out takes no body: nginx's `r->header_only`.
    private static func isHeaderOnly(_ coroutine: LuaCoroutine, _ sink: any LuaOutput) -> Bool {
        sink.isHeadRequest && coroutine.context.headersSentForLua
    }

    private static func output(_ L: LuaState, newline: Bool, to sink: any LuaOutput) -> LuaReturn {
        let worker = LuaWorker.from(L)
        // Assembled in place: a local copy of the scratch buffer would share its storage and
        // make `clear()` allocate a new one on every call.
        worker.outputScratch.clear()
        let count = lua_gettop(L)
        if count > 0 {
            for index in 1...count {
                if let problem = appendPrintable(L, index, to: &worker.outputScratch) { return L.argumentError(index, problem) }
            }
        }
        if newline { worker.outputScratch.writeInteger(UInt8(ascii: "\n")) }
        guard worker.outputScratch.withUnsafeReadableBytes({ sink.write($0) }) else { return L.softFailure("seen eof") }
        lua_pushinteger(L, 1)
        return .values(1)
    }

    /// What `ngx.say`/`ngx.print`/`ngx.log` accept: strings, numbers, nil, booleans, ngx.null
    /// and arrays of them.
    static func appendPrintable(_ L: LuaState, _ index: Int32, to buffer: inout ByteBuffer) -> String? {
        switch lua_type(L, index) {
        case LUA_TNUMBER where luaAppendIntegralNumber(L, index, to: &buffer):
            break
        case LUA_TSTRING, LUA_TNUMBER:
            if let bytes = luaBytes(L, index) { buffer.writeBytes(bytes) }
        case LUA_TNIL:
            buffer.writeString("nil")
        case LUA_TBOOLEAN:
            buffer.writeString(lua_toboolean(L, index) != 0 ? "true" : "false")
        case LUA_TLIGHTUSERDATA where lua_touserdata(L, index) == nil:
            buffer.writeString("null")
        case LUA_TTABLE:
            let table = index < 0 ? lua_gettop(L) + index + 1 : index
            let length = Int32(lua_objlen(L, table))
            if length > 0 {
                for position in 1...length {
                    lua_rawgeti(L, table, position)
                    let problem = appendPrintable(L, -1, to: &buffer)
                    luaPop(L, 1)
                    if let problem { return problem }
                }
            }
        default:
            return "string, number, boolean, nil, ngx.null, or array table expected, but got \(luaTypeName(L, index))"
        }
        return nil
    }

    /// `ngx.flush(wait?)`: with `true`, the coroutine yields until the bytes are written out.
    static func flush(_ L: LuaState) -> LuaReturn {
        var wait = false
        if lua_gettop(L) >= 1 {
            guard lua_type(L, 1) == LUA_TBOOLEAN else { return L.argumentError(1, "boolean expected, got \(luaTypeName(L, 1))") }
            wait = lua_toboolean(L, 1) != 0
        }
        return withOutput(L) { coroutine, sink in
            if isHeaderOnly(coroutine, sink) { return L.softFailure("header only") }
            let worker = LuaWorker.from(L)
            // Set before flushing: the write may complete (and wake us) before `flush` returns.
            if wait { coroutine.wait = .flush }
            switch sink.flush(whenWritten: wait ? { worker.wake(coroutine, with: .flushed) } : nil) {
            case .ended:
                coroutine.wait = nil
                return L.softFailure("seen eof")
            case .done:
                coroutine.wait = nil
                lua_pushinteger(L, 1)
                return .values(1)
            case .pending:
                lua_settop(L, 0)
                return .yield
            }
        }
    }

    static func endOutput(_ L: LuaState) -> LuaReturn {
        withOutput(L) { _, sink in
            guard sink.endOutput() else { return L.softFailure("seen eof") }
            lua_pushinteger(L, 1)
            return .values(1)
        }
    }

    static func sendHeaders(_ L: LuaState) -> LuaReturn {
        withOutput(L) { _, sink in
            sink.sendHeaders()
            lua_pushinteger(L, 1)
            return .values(1)
        }
    }

    /// `ngx.on_abort(fn)`: `fn` runs as a light thread when the client goes away.
    static func onAbort(_ L: LuaState) -> LuaReturn {
        guard let context = LuaWorker.from(L).current?.context else { return L.fail("no request found") }
        guard context.checksClientAbort else { return L.softFailure("lua_check_client_abort is off") }
        guard context.abortHandlerReference == LUA_NOREF else { return L.softFailure("duplicate call") }
        guard lua_type(L, 1) == LUA_TFUNCTION else { return L.argumentError(1, "function expected, got \(luaTypeName(L, 1))") }
        lua_settop(L, 1)
        context.abortHandlerReference = luaL_ref(L, luaRegistryIndex)
        lua_pushinteger(L, 1)
        return .values(1)
    }

    // MARK: Log

    static func log(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        let count = lua_gettop(L)
        guard count >= 1, lua_type(L, 1) == LUA_TNUMBER else {
            return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))")
        }
        let rawLevel = luaToInteger(L, 1)
        guard let level = LuaLogLevel(rawValue: rawLevel) else { return L.fail("bad log level: \(rawLevel)") }
        guard level <= worker.configuration.logLevel else { return .values(0) }
        var buffer = ByteBuffer()
        if count >= 2 {
            for index in 2...count {
                switch appendLoggable(L, index, to: &buffer) {
                case .appended: break
                // Numbered from the first message argument, as the reference counts them.
                case .refused(let problem): return L.argumentError(index - 1, problem)
                case .raised: return .rawError
                }
            }
        }
        worker.log(level, "[lua] \(callerPosition(L)): \(String(buffer: buffer))")
        return .values(0)
    }

    enum Loggable { case appended, refused(String), raised }

    /// What `ngx.log` and `print` accept (ngx_http_lua_log_wrapper): strings, numbers, nil,
    /// booleans, ngx.null, and tables with a `__tostring` metamethod.
    static func appendLoggable(_ L: LuaState, _ index: Int32, to buffer: inout ByteBuffer) -> Loggable {
        switch lua_type(L, index) {
        case LUA_TNUMBER, LUA_TSTRING, LUA_TNIL, LUA_TBOOLEAN:
            _ = appendPrintable(L, index, to: &buffer)
        case LUA_TLIGHTUSERDATA where lua_touserdata(L, index) == nil:
            buffer.writeString("null")
        case LUA_TTABLE:
            guard luaL_getmetafield(L, index, "__tostring") != 0 else {
                return .refused("expected table to have __tostring metamethod")
            }
            luaPop(L, 1)
            guard let text = luaCallToString(L, index) else { return .raised }
            buffer.writeString(text)
        default:
            return .refused("string, number, boolean, or nil expected, got \(luaTypeName(L, index))")
        }
        return .appended
    }

    /// `file:line` of the Lua code that called the running C function, as nginx logs it, and
    /// `: name()` after it when that code is a named Lua function (the reference's log_wrapper).
    static func callerPosition(_ L: LuaState) -> String {
        var record = lua_Debug()
        guard lua_getstack(L, 1, &record) != 0, lua_getinfo(L, "Snl", &record) != 0 else { return "?" }
        let source = withUnsafeBytes(of: &record.short_src) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let file = source.split(separator: "/").last.map(String.init) ?? source
        if let namewhat = record.namewhat, namewhat.pointee != 0, let what = record.what, strcmp(what, "Lua") == 0,
            let name = record.name
        {
            return "\(file):\(record.currentline): \(String(cString: name))()"
        }
        return "\(file):\(record.currentline)"
    }

    // MARK: Exit and sleep

    static func exit(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current else { return L.fail("no request found") }
        guard lua_isnumber(L, 1) != 0 else { return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))") }
        guard coroutine.context.allowsExit else {
            return L.fail("API disabled in the context of \(coroutine.context.disabledContextName)")
        }
        let status = luaToInteger(L, 1)
        if status == LuaExitCode.again || status == LuaExitCode.done { return L.fail(LuaExitCode.refusal) }
        coroutine.context.exitStatus = status
        if let host = coroutine.context.request, host.handleExit(status: status, context: coroutine.context) {
            return .values(0)
        }
        coroutine.wait = .exit
        return .yield
    }

    /// `ngx.redirect(uri, status?)`: sets `Location` and exits with 302 (or 301, 303, 307, 308).
    static func redirect(_ L: LuaState) -> LuaReturn {
        guard let target = luaString(L, 1) else { return L.argumentError(1, "string expected, got \(luaTypeName(L, 1))") }
        // The reference refuses control bytes (tab aside) rather than let a header be split.
        if let unsafe = target.utf8.first(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7f }) {
            let shown = target.utf8.map { byte in
                byte < 0x20 || byte >= 0x7f || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                    ? "\\x" + hex(byte, uppercase: true) : String(UnicodeScalar(byte))
            }.joined()
            return L.fail("unsafe byte \"0x\(hex(unsafe, uppercase: false))\" in redirect uri \"\(shown)\"")
        }
        let status = lua_gettop(L) >= 2 ? luaToInteger(L, 2) : 302
        guard [301, 302, 303, 307, 308].contains(status) else { return L.fail("only ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_PERMANENT_REDIRECT, ngx.HTTP_SEE_OTHER, and ngx.HTTP_TEMPORARY_REDIRECT are allowed") }
        guard let context = LuaWorker.from(L).current?.context else { return L.fail("no request found") }
        // ngx_http_lua_ngx_redirect's context mask.
        guard ["rewrite", "access", "content"].contains(context.phaseName) else {
            return L.fail("API disabled in the context of \(context.disabledContextName)")
        }
        guard let host = context.request else { return L.fail("no request found") }
        host.setResponseHeader("Location", [target])
        lua_settop(L, 0)
        lua_pushinteger(L, lua_Integer(status))
        return exit(L)
    }

    private static func hex(_ byte: UInt8, uppercase: Bool) -> String {
        let digits = String(byte, radix: 16, uppercase: uppercase)
        return digits.count == 1 ? "0" + digits : digits
    }

    static func sleep(_ L: LuaState) -> LuaReturn {
        let count = lua_gettop(L)
        guard count == 1 else { return L.fail("attempt to pass \(count) arguments, but accepted 1") }
        guard lua_type(L, 1) == LUA_TNUMBER else { return L.argumentError(1, "number expected, got \(luaTypeName(L, 1))") }
        // The reference: `(ngx_int_t) (n * 1000)`, refused below 0 and printed with `%d`.
        let milliseconds = Int64(LuaNumber.truncated(lua_tonumber(L, 1) * 1000))
        guard milliseconds >= 0 else {
            return L.fail("invalid sleep duration \"\(Int32(truncatingIfNeeded: milliseconds))\"")
        }
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current else { return L.fail("no request found") }
        lua_settop(L, 0)
        if milliseconds == 0 {
            coroutine.wait = .nextTick
            worker.engine.execute { worker.wake(coroutine, with: .nothing) }
        } else {
            let timer = worker.engine.scheduleTask(in: .milliseconds(milliseconds)) {
                worker.wake(coroutine, with: .nothing)
            }
            coroutine.wait = .sleep(timer)
        }
        return .yield
    }
}

extension NgxCoreAPI {
    /// `ngx.config`, on the `ngx` table on top of the stack (also in worker-thread VMs).
    /// `ngx.config`. Its functions read no worker (a worker thread's VM has none): the prefix
    /// is the closure's upvalue.
    static func installConfig(_ L: LuaState, worker: UnsafeMutableRawPointer, prefix: String) {
        lua_createtable(L, 0, 8)
        lua_pushinteger(L, 10023)
        lua_setfield(L, -2, "ngx_lua_version")
        lua_pushinteger(L, 1_022_001)
        lua_setfield(L, -2, "nginx_version")
        luaPushString(L, "http")
        lua_setfield(L, -2, "subsystem")
        // Debian's nginx is built --with-debug.
        lua_pushboolean(L, 1)
        lua_setfield(L, -2, "debug")
        luaPushString(L, prefix)
        lua_pushcclosure(L, { L in lua_pushvalue(L, luaUpvalueIndex(1)); return 1 }, 1)
        lua_setfield(L, -2, "prefix")
        luaSetField(L, -1, "nginx_configure", { L in luaPushString(L!, " " + LuaConfiguration.configureArguments); return 1 }, upvalue: worker)
        lua_setfield(L, -2, "config")
    }

    /// `ngx.http_time(sec)`, `ngx.cookie_time(sec)`: numbers only, as lua-resty-core takes them
    /// (a numeric string is refused); fractions are cut, times before 1970 read as 1970.
    static func httpTime(_ L: LuaState, _ format: (Int) -> String) -> LuaReturn {
        guard lua_type(L, 1) == LUA_TNUMBER else { return L.fail("number argument only") }
        luaPushString(L, format(LuaNumber.truncated(lua_tonumber(L, 1))))
        return .values(1)
    }

    /// `ngx.parse_http_time(str)`: the seconds, or `nil` for a string nginx cannot read.
    static func parseHTTPTime(_ L: LuaState) -> LuaReturn {
        guard lua_type(L, 1) == LUA_TSTRING else { return L.fail("string argument only") }
        var length = 0
        guard let bytes = lua_tolstring(L, 1, &length) else { return L.fail("string argument only") }
        let text = UnsafeRawBufferPointer(start: bytes, count: length)
        if let seconds = HTTPDate.parse(text) { lua_pushnumber(L, Double(seconds)) } else { lua_pushnil(L) }
        return .values(1)
    }
}

/// Wall-clock time for `ngx.now` and friends.
enum Clock {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec / 1_000_000) / 1000
    }

    static func format(_ pattern: String, utc: Bool) -> String {
        var seconds = time(nil)
        var parts = tm()
        if utc { gmtime_r(&seconds, &parts) } else { localtime_r(&seconds, &parts) }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// nginx's codes that `ngx.exit` refuses: a handler cannot leave its request pending.
enum LuaExitCode {
    static let again = -2
    static let done = -4
    static let refusal = "bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE"
}
