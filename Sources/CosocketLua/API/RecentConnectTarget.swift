import CosocketCore

/// The target and default pool key of the last `connect` a worker saw, kept with the host's
/// bytes: code mostly connects where it connected before, and building the host string and
/// the `host:port` key again cost about 400 instructions per connect. A hit is decided by
/// comparing bytes, never by the Lua string's address (a collected string's address is reused).
struct RecentConnectTarget {
    private var host: [UInt8] = []
    private var port = -1
    private(set) var target: ConnectTarget = .unix(path: "")
    private(set) var poolKey = ""

    /// Whether `host` (and `port`; -1 for a unix socket) is the remembered one.
    func matches(_ host: UnsafeRawBufferPointer, port: Int) -> Bool {
        guard port == self.port, host.count == self.host.count, !self.host.isEmpty else { return false }
        for index in 0..<host.count where host[index] != self.host[index] { return false }
        return true
    }


    mutating func remember(_ host: UnsafeRawBufferPointer, port: Int, target: ConnectTarget) {
        self.host = Array(host)
        self.port = port
        self.target = target
        poolKey = target.defaultPoolKey
    }
}
