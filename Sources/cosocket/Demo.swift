import ArgumentParser
import CosocketLua
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The seed example, end to end: a Lua coroutine connects to an HTTP server on loopback,
/// sends a GET, reads the status line and the body with cosockets, and closes.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the seed example against a loopback HTTP server it starts.")

    static let script = """
        local port = tonumber(arg[1])
        local sock = ngx.socket.tcp()
        sock:settimeout(2000)
        local ok, err = sock:connect("127.0.0.1", port)
        if not ok then ngx.say("failed to connect: ", err) return ngx.exit(1) end
        ngx.say("connected to 127.0.0.1:", port)
        local bytes = assert(sock:send({"GET / HTTP/1.1\\r\\n", "Host: localhost\\r\\n", "Connection: close\\r\\n\\r\\n"}))
        ngx.say("sent ", bytes, " bytes")
        local status = assert(sock:receive("*l"))
        ngx.say("status line: ", status)
        local reader = sock:receiveuntil("\\r\\n\\r\\n")
        local headers = assert(reader())
        local body = sock:receive("*a")
        ngx.say("body: ", body)
        sock:close()
        """

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(CannedHTTPResponder()) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .wait()
        defer { try? server.close().wait() }
        let port = server.localAddress?.port ?? 0
        print("demo HTTP server listening on 127.0.0.1:\(port)")
        fflush(nil)
        let status = ScriptRunner.run(source: Array(Self.script.utf8), chunkName: "=demo", scriptName: "demo", arguments: ["\(port)"])
        if status != 0 { throw ExitCode(status) }
    }
}

/// Answers every request with a fixed HTTP response and closes.
final class CannedHTTPResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let body = "hello from the demo server\n"
        let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in context.close(promise: nil) }
    }
}
