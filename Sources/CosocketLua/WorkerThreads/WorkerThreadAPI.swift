import CLuaJIT

/// `ngx.run_worker_thread(threadpool, module_name, func_name, arg1, ...)`: runs the function
/// in a pool thread's VM while the calling light thread waits like a cosocket. It never
/// raises: `true, results...` or `false, err`, in the reference's words.
enum WorkerThreadAPI {
    static func install(_ L: LuaState, worker: UnsafeMutableRawPointer) {
        luaSetField(L, -1, "run_worker_thread", { L in luaFinish(L!, WorkerThreadAPI.run(L!)) }, upvalue: worker)
    }

    private static func failure(_ L: LuaState, _ message: String) -> LuaReturn {
        lua_settop(L, 0)
        lua_pushboolean(L, 0)
        luaPushString(L, message)
        return .values(2)
    }

    static func run(_ L: LuaState) -> LuaReturn {
        let worker = LuaWorker.from(L)
        guard let coroutine = worker.current else { return L.fail("no request found") }
        // The reference's contexts: rewrite, access, content, and timers.
        if case .request(let phase) = coroutine.context.kind, !["rewrite", "access", "content"].contains(phase) {
            return L.fail("API disabled in the context of \(coroutine.context.disabledContextName)")
        }
        let count = lua_gettop(L)
        guard count >= 3 else { return failure(L, "expecting at least 3 arguments") }
        let poolName = luaString(L, 1) ?? ""
        guard let pool = worker.workerThreadPool(named: poolName) else { return failure(L, "thread pool \(poolName) not found") }
        guard let module = luaString(L, 2), let function = luaString(L, 3) else { return failure(L, "invalid function") }
        var arguments: [ThreadValue] = []
        if count > 3 {
            for index in 4...count {
                switch ThreadValue.read(L, index, role: "argument") {
                case .success(let value): arguments.append(value)
                case .failure(let error): return failure(L, error.message)
                }
            }
        }
        let waiter = UncheckedWaiter(worker: worker, coroutine: coroutine)
        let loop = worker.eventLoop
        let job = WorkerThreadPool.Job(module: module, function: function, arguments: arguments) { result in
            loop.execute { waiter.finish(result) }
        }
        guard pool.submit(job) else { return failure(L, "failed to post the task: thread pool \(poolName) queue overflow") }
        lua_settop(L, 0)
        coroutine.wait = .nextTick
        return .yield
    }

    /// The worker and coroutine a job's completion wakes, touched only on the worker's loop
    /// (the pool thread only carries it there).
    private final class UncheckedWaiter: @unchecked Sendable {
        let worker: LuaWorker
        let coroutine: LuaCoroutine

        init(worker: LuaWorker, coroutine: LuaCoroutine) {
            self.worker = worker
            self.coroutine = coroutine
        }

        func finish(_ result: Result<[ThreadValue], ThreadValueError>) {
            worker.wake(coroutine, with: .push { L in
                switch result {
                case .success(let values):
                    lua_pushboolean(L, 1)
                    for value in values { value.push(L) }
                    return Int32(values.count + 1)
                case .failure(let error):
                    lua_pushboolean(L, 0)
                    luaPushString(L, error.message)
                    return 2
                }
            })
        }
    }
}
