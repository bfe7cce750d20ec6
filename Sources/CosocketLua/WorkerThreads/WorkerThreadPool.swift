import CLuaJIT

#if canImport(Glibc)
import Glibc
#endif

/// A `thread_pool`: threads that each own a Lua VM of their own and run
/// `ngx.run_worker_thread` jobs (a function of a module, found through the worker's
/// `package.path`), so that CPU-heavy or blocking Lua code does not stall the event loop.
/// Threads start on demand up to the pool's size; the queue is behind one lock, held to push
/// or pop a job.
final class WorkerThreadPool: @unchecked Sendable {
    struct Job: Sendable {
        let module: String
        let function: String
        let arguments: [ThreadValue]
        /// Called on the pool's thread; the caller hops back to its loop.
        let completion: @Sendable (Result<[ThreadValue], ThreadValueError>) -> Void
    }

    let name: String
    private let size: Int
    private let maximumQueue: Int
    private let packagePath: String
    private let packageCPath: String
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var queue: [Job] = []
    private var threads = 0
    private var idle = 0
    private var stopping = false

    /// `ngx.config.prefix()` in the pool's VMs.
    private let prefix: String

    init(name: String, size: Int, maximumQueue: Int, packagePath: String, packageCPath: String, prefix: String) {
        self.prefix = prefix
        self.name = name
        self.size = max(size, 1)
        self.maximumQueue = maximumQueue
        self.packagePath = packagePath
        self.packageCPath = packageCPath
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    /// Queues `job`; `false` when the queue is full (`max_queue`).
    func submit(_ job: Job) -> Bool {
        pthread_mutex_lock(&mutex)
        guard !stopping, queue.count < maximumQueue else {
            pthread_mutex_unlock(&mutex)
            return false
        }
        queue.append(job)
        let spawn = idle == 0 && threads < size
        if spawn { threads += 1 }
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
        if spawn { startThread() }
        return true
    }

    /// Lets the threads end once the jobs already queued are done.
    func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func startThread() {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { argument in
            let pool = Unmanaged<WorkerThreadPool>.fromOpaque(argument!).takeRetainedValue()
            pool.run()
            return nil
        }, box)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<WorkerThreadPool>.fromOpaque(box).release()
            pthread_mutex_lock(&mutex)
            threads -= 1
            pthread_mutex_unlock(&mutex)
        }
    }

    private func nextJob() -> Job? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while queue.isEmpty {
            if stopping { return nil }
            idle += 1
            pthread_cond_wait(&condition, &mutex)
            idle -= 1
        }
        return queue.removeFirst()
    }

    private func run() {
        guard let vm = WorkerThreadVM(packagePath: packagePath, packageCPath: packageCPath, prefix: prefix) else { return }
        while let job = nextJob() {
            job.completion(vm.run(job))
        }
    }
}

/// The Lua VM of one pool thread: the standard libraries and the part of `ngx` the reference
/// offers there (the string codecs and hashes, `ngx.config`; as in the reference, not
/// `ngx.null`), no I/O. Not yet `ngx.re` and `ngx.shared` (see the README).
final class WorkerThreadVM {
    private let state: LuaState

    init?(packagePath: String, packageCPath: String, prefix: String) {
        guard let state = luaL_newstate() else { return nil }
        self.state = state
        luaL_openlibs(state)
        luaSetPackagePaths(state, path: packagePath, cpath: packageCPath)
        lua_createtable(state, 0, 16)
        // The codec functions do not read their upvalue; any pointer will do.
        CodecAPI.install(state, worker: UnsafeMutableRawPointer(bitPattern: 1)!)
        NgxCoreAPI.installConfig(state, worker: UnsafeMutableRawPointer(bitPattern: 1)!, prefix: prefix)
        luaPublishModule(state, "ngx")
        lua_settop(state, 0)
    }

    deinit { lua_close(state) }

    func run(_ job: WorkerThreadPool.Job) -> Result<[ThreadValue], ThreadValueError> {
        let L = state
        defer { lua_settop(L, 0) }
        lua_getfield(L, luaGlobalsIndex, "require")
        luaPushString(L, job.module)
        guard lua_pcall(L, 1, 1, 0) == 0 else { return .failure(ThreadValueError(message: luaString(L, -1) ?? "require failed")) }
        guard lua_type(L, -1) == LUA_TTABLE else { return .failure(ThreadValueError(message: "invalid function")) }
        lua_getfield(L, -1, job.function)
        guard lua_type(L, -1) == LUA_TFUNCTION else { return .failure(ThreadValueError(message: "invalid function")) }
        let base = lua_gettop(L) - 1
        for argument in job.arguments { argument.push(L) }
        guard lua_pcall(L, Int32(job.arguments.count), LUA_MULTRET, 0) == 0 else {
            return .failure(ThreadValueError(message: luaString(L, -1) ?? "unknown error"))
        }
        var results: [ThreadValue] = []
        let top = lua_gettop(L)
        if top > base {
            for index in (base + 1)...top {
                switch ThreadValue.read(L, index, role: "return value") {
                case .success(let value): results.append(value)
                case .failure(let error): return .failure(error)
                }
            }
        }
        return .success(results)
    }
}
