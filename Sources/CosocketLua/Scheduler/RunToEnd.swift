import CLuaJIT
import NIOCore

/// The light userdata a synchronous run's `ngx.exit` raises: not an error, the end of the run.
nonisolated(unsafe) let luaRunExitSentinel = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

extension LuaWorker {
    /// How a run of ``runToEnd(_:in:argument:results:read:)`` ended.
    public enum RunOutcome {
        /// The function returned; with its first result as a string when asked for.
        case returned(String?)
        /// `ngx.exit(status)`.
        case exited(Int)
        /// A Lua error, already logged as the reference logs it.
        case failed(String)
    }

    /// Runs `reference` to its end at once, as nginx runs `set_by_lua*` and the output filters:
    /// on a thread of its own with `context` current, where an operation that would wait is
    /// refused (`API disabled in the context of header_filter_by_lua*`). With `wantsResult`,
    /// the outcome carries the first result (a string or number; nil otherwise).
    public func runToEnd(
        _ reference: Int32, in context: LuaContext, wantsResult: Bool = false
    ) -> RunOutcome {
        context.runsToEnd = true
        if context.serial == 0 {
            lastContextSerial &+= 1
            context.serial = lastContextSerial
        }
        if runErrorHandlerReference == LUA_NOREF {
            runErrorHandlerReference = cosocket_protected_function_reference(state) { L in
                if lua_type(L!, 1) == LUA_TLIGHTUSERDATA { return 1 }
                // A value that is not a string or a number: the reference's words, and no traceback.
                guard let message = luaString(L!, 1) else {
                    luaPushString(L!, "unknown reason")
                    return 1
                }
                luaL_traceback(L!, L!, message, 1)
                return 1
            }
        }
        guard runErrorHandlerReference != LUA_NOREF, let (thread, threadReference) = spareRunThreads.popLast() ?? newThread() else {
            log(.error, "failed to run \(context.disabledContextName): \(Self.outOfMemory)", in: context)
            return .failed(Self.outOfMemory)
        }
        let coroutine = LuaCoroutine(thread: thread, reference: threadReference, context: context, isEntry: true)
        lastCoroutineSerial &+= 1
        coroutine.serial = lastCoroutineSerial
        // resty.core's `get_request()` in set_by_lua and the filters (see ``FFIRequest``).
        lua_setexdata(thread, FFIRequest.pointer(of: self, in: context))
        installNgxArg()
        lua_settop(thread, 0)
        // The error handler: the traceback of an error, the exit sentinel as it is.
        lua_rawgeti(thread, luaRegistryIndex, runErrorHandlerReference)
        lua_rawgeti(thread, luaRegistryIndex, reference)
        let saved = current
        current = coroutine
        if resumeDepth == 0 { SharedDict.refreshCachedTime() }
        let status = lua_pcall(thread, 0, wantsResult ? 1 : 0, 1)
        current = saved
        let outcome: RunOutcome
        if status == 0 {
            let type = lua_type(thread, -1)
            outcome = .returned(wantsResult && (type == LUA_TSTRING || type == LUA_TNUMBER) ? luaString(thread, -1) : nil)
        } else if lua_type(thread, -1) == LUA_TLIGHTUSERDATA && lua_touserdata(thread, -1) == luaRunExitSentinel {
            outcome = .exited(context.exitStatus ?? 0)
        } else {
            let message = luaString(thread, -1) ?? "unknown error"
            // The reference's words, which drop the `ssl_` of the session store's name.
            let name = context.disabledContextName == "ssl_session_store_by_lua*" ? "session_store_by_lua*" : context.disabledContextName
            log(.error, "failed to run \(name): \(message)", in: context)
            outcome = .failed(message)
        }
        lua_settop(thread, 0)
        coroutine.isDead = true
        if spareRunThreads.count < 4 {
            spareRunThreads.append((thread, threadReference))
        } else {
            luaL_unref(state, luaRegistryIndex, threadReference)
        }
        return outcome
    }

    /// Sets `ngx.arg` once: an empty table whose metamethods read the running context's
    /// `set_by_lua*` arguments or body filter chunk and eof flag (and write the latter two), so
    /// that a bad assignment fails where it is made, as in the reference.
    public func installNgxArg() {
        guard bodyFilterArgReference == LUA_NOREF else { return }
        let L = state
        lua_getfield(L, luaGlobalsIndex, "ngx")
        lua_pushstring(L, "arg")
        lua_createtable(L, 0, 0)
        lua_createtable(L, 0, 2)
        lua_pushlightuserdata(L, opaqueSelf)
        lua_pushcclosure(L, { L in
            guard let context = LuaWorker.from(L!).current?.context else {
                lua_pushnil(L)
                return 1
            }
            // Outside `set_by_lua*` and the body filter, as lua-resty-core's `ngx.arg` says.
            switch context.kind {
            case .request("set"), .request("body_filter"): break
            default: return luaFinish(L!, L!.fail("API disabled in the current context"))
            }
            guard lua_type(L, 2) == LUA_TNUMBER else {
                lua_pushnil(L)
                return 1
            }
            let index = lua_tointeger(L, 2)
            if case .request("set") = context.kind {
                if index >= 1 && index <= context.filterArguments.count {
                    luaPushString(L!, context.filterArguments[index - 1])
                } else {
                    lua_pushnil(L)
                }
                return 1
            }
            switch index {
            case 1: context.filterChunk.withUnsafeReadableBytes { raw in
                lua_pushlstring(L, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
            case 2: lua_pushboolean(L, context.filterEOF ? 1 : 0)
            default: lua_pushnil(L)
            }
            return 1
        }, 1)
        lua_setfield(L, -2, "__index")
        lua_pushlightuserdata(L, opaqueSelf)
        lua_pushcclosure(L, { L in luaFinish(L!, LuaWorker.setBodyFilterArgument(L!)) }, 1)
        lua_setfield(L, -2, "__newindex")
        lua_setmetatable(L, -2)
        lua_pushvalue(L, -1)
        bodyFilterArgReference = luaL_ref(L, luaRegistryIndex)
        lua_rawset(L, -3)
        luaPop(L, 1)
    }

    /// `ngx.arg[1] = chunk` (a string, a number, nil for none, or an array of them) and
    /// `ngx.arg[2] = eof`, with the reference's errors for anything else.
    private static func setBodyFilterArgument(_ L: LuaState) -> LuaReturn {
        guard let context = LuaWorker.from(L).current?.context else { return L.fail("no request found") }
        // ngx_http_lua_param_set allows the body filter only (set_by_lua* reads its arguments).
        guard case .request("body_filter") = context.kind else {
            return L.fail("API disabled in the context of \(context.disabledContextName)")
        }
        guard lua_type(L, 2) == LUA_TNUMBER else { return L.fail("bad index: \(luaString(L, 2) ?? luaTypeName(L, 2))") }
        switch lua_tointeger(L, 2) {
        case 1:
            var chunk = ByteBuffer()
            switch lua_type(L, 3) {
            case LUA_TNIL: break
            case LUA_TSTRING, LUA_TNUMBER, LUA_TTABLE:
                if let problem = NgxCoreAPI.appendPrintable(L, 3, to: &chunk) { return L.fail(problem) }
            default:
                return L.fail("bad chunk data type: \(luaTypeName(L, 3))")
            }
            context.filterChunk = chunk
        case 2:
            context.filterEOF = lua_toboolean(L, 3) != 0
        default:
            return L.fail("bad index: \(LuaNumber.truncated(lua_tonumber(L, 2)))")
        }
        return .values(0)
    }
}

extension LuaContext {
    /// Runs `body` with `owner`'s `ngx.ctx` as this context's: a filter or `set_by_lua*` run
    /// shares the table of the request's phases, as in the reference.
    public func borrowingCtx<T>(of owner: LuaContext?, _ body: () -> T) -> T {
        guard let owner else { return body() }
        let own = ctxReference
        ctxReference = owner.ctxReference
        defer {
            owner.ctxReference = ctxReference
            ctxReference = own
        }
        return body()
    }
}

extension LuaWorker {
    /// Ends a context that only ran code to its end: releases its `ngx.ctx`.
    public func endRunContext(_ context: LuaContext) {
        endContext(context)
    }
}

extension LuaState {
    /// The reference's refusal of cosockets and light threads in code that runs to its end
    /// (`set_by_lua*`, the output filters); nil elsewhere.
    func refusalWhenRunningToEnd() -> LuaReturn? {
        guard let context = LuaWorker.from(self).current?.context, context.runsToEnd else { return nil }
        return fail("API disabled in the context of \(context.disabledContextName)")
    }
}
