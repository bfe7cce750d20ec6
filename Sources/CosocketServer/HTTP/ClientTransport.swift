import CosocketCore
import NIOCore

/// How an ``HTTPConnection``'s bytes come and go. Calls and events happen on the worker's loop.
protocol ClientTransport: AnyObject {
    /// Moves the bytes received since the last call to the end of `buffer` (without a copy
    /// when `buffer` is empty).
    func takeReceived(into buffer: inout ByteBuffer)
    var remoteAddress: SocketAddress? { get }
    /// Whether every byte written has reached the kernel.
    var isFlushed: Bool { get }
    /// How many written bytes wait for the kernel to take them: a count that stays put
    /// while it is above 0 means the client takes nothing (`send_timeout`).
    var unsentByteCount: Int { get }
    /// The connection waits for more bytes: reading resumes if it was paused.
    func wantInput()
    /// Too many bytes wait behind the request in progress.
    func pauseReading()
    /// Writes `bytes`; returns whether `whenWritten` will run (once they are in the kernel).
    func write(_ bytes: ByteBuffer, whenWritten: (() -> Void)?) -> Bool
    func close()
    /// Closes once what was written has reached the kernel.
    func closeAfterWrites()
    #if os(Linux)
    /// The server side of the connection's TLS, if it runs TLS (for `ngx.ssl` in requests).
    var tlsHandshake: TLSServerHandshake? { get }
    #endif
}

#if os(Linux)
extension ClientTransport {
    var tlsHandshake: TLSServerHandshake? { nil }
}
#endif
