import CosocketCore
import CosocketLua
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The nginx-style host: `worker_processes` event loops, each with its own Lua VM, pools and
/// listening sockets (SO_REUSEPORT lets the kernel spread connections over them).
public final class HTTPServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    private let group: MultiThreadedEventLoopGroup
    private let errorLog: any LuaErrorLog
    private var channels: [Channel] = []
    private var workers: [ServerWorker] = []

    public init(configuration: ServerConfiguration, errorLog: any LuaErrorLog) {
        self.configuration = configuration
        self.errorLog = errorLog
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.workerProcesses))
    }

    /// Creates the workers, runs their init phases, and starts listening.
    public func start() throws {
        var workerID = 0
        for loop in group.makeIterator() {
            let id = workerID
            workerID += 1
            let worker = try loop.submit { () throws -> ServerWorker in
                let engine = CosocketEngine(eventLoop: loop, configuration: self.configuration.engine)
                CosocketEngine.register(engine)
                let lua = try LuaWorker(engine: engine, workerID: id, configuration: self.configuration.lua, errorLog: self.errorLog)
                let worker = ServerWorker(lua: lua, configuration: self.configuration)
                try worker.runInitPhases()
                return worker
            }.wait()
            workers.append(worker)
            for server in configuration.servers {
                for address in server.listen {
                    let channel = try ServerBootstrap(group: loop)
                        .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                        .serverChannelOption(ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_REUSEPORT)), value: 1)
                        .serverChannelOption(ChannelOptions.backlog, value: 511)
                        .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                        .childChannelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                // Closes connections that stay silent for keepalive_timeout
                                // (the handler keeps those with a request in progress).
                                let idle = TimeAmount.seconds(Int64(max(1, self.configuration.keepaliveTimeoutSeconds)))
                                try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                                try channel.pipeline.syncOperations.addHandler(
                                    HTTPConnectionHandler(worker: worker, server: server, serverPort: address.port)
                                )
                            }
                        }
                        .bind(host: address.host, port: address.port)
                        .wait()
                    channels.append(channel)
                }
            }
        }
    }

    /// Blocks until the listeners close.
    public func wait() throws {
        for channel in channels { try channel.closeFuture.wait() }
    }

    /// Stops listening and ends the workers.
    public func shutdown() throws {
        for channel in channels { try? channel.close().wait() }
        for worker in workers {
            try? worker.lua.eventLoop.submit { worker.lua.shutdown() }.wait()
        }
        try group.syncShutdownGracefully()
    }

    /// The ports actually bound (useful when a configuration listens on port 0 in tests).
    public var boundPorts: [Int] { channels.compactMap { $0.localAddress?.port } }
}
