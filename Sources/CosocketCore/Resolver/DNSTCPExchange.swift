import NIOCore

/// One DNS query over TCP (RFC 1035 4.2.2: each message behind a two-byte length), for an
/// answer that was truncated over UDP; on the engine's ``StreamSocket``.
final class DNSTCPExchange: StreamSocketDelegate {
    private let socket: StreamSocket
    private var query: [UInt8] = []
    private var completion: ((Result<[UInt8], CosocketError>) -> Void)?
    private var length: Int?

    init(engine: CosocketEngine, timeout: TimeAmount) {
        socket = StreamSocket(engine: engine)
        socket.timeouts = .all(timeout)
        socket.delegate = self
    }

    deinit { socket.abort() }

    func run(to server: SocketAddress, query: [UInt8], completion: @escaping (Result<[UInt8], CosocketError>) -> Void) {
        self.query = query
        self.completion = completion
        // A pool name of its own: these connections are never kept.
        let target = ConnectTarget.host(server.ipAddress ?? "", port: server.port ?? 53)
        if let result = socket.connect(to: target, pool: PoolOptions(name: "dns-tcp")) { socketDidConnect(socket, result: result) }
    }

    func abort() {
        completion = nil
        socket.abort()
    }

    private func end(_ result: Result<[UInt8], CosocketError>) {
        let completion = self.completion
        self.completion = nil
        _ = socket.close()
        completion?(result)
    }

    func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>) {
        guard case .success = result else { return end(.failure(result.failure ?? .closed(partial: ByteBuffer()))) }
        var message = ByteBuffer()
        message.writeInteger(UInt16(truncatingIfNeeded: query.count))
        message.writeBytes(query)
        if let sent = socket.send(message) { socketDidSend(socket, result: sent) }
    }

    func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>) {
        if case .failure(let error) = result { return end(.failure(error)) }
        read(.bytes(2))
    }

    private func read(_ pattern: ReadPattern) {
        if let outcome = socket.receive(pattern) { socketDidRead(socket, outcome: outcome) }
    }

    func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome) {
        guard case .data(var data) = outcome else {
            if case .failure(let error) = outcome { return end(.failure(error)) }
            return end(.failure(.closed(partial: ByteBuffer())))
        }
        if length == nil {
            let count = Int(data.readInteger(as: UInt16.self) ?? 0)
            guard count > 0 else { return end(.failure(.closed(partial: ByteBuffer()))) }
            length = count
            read(.bytes(count))
        } else {
            end(.success(Array(data.readableBytesView)))
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
