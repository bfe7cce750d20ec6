#if os(Linux)
import CosocketCore

/// The client transport on the worker's readiness set (see ``DescriptorListener``).
extension AcceptedStream: ClientTransport {
    func wantInput() {
        requestInput()
    }


}

extension HTTPConnection: AcceptedStreamDelegate {
    func streamHasInput(_ stream: AcceptedStream) {
        if stream.inputClosed {
            // The client ended its side: as in nginx, the connection ends with it (a request
            // in progress is aborted).
            stream.close()
            return
        }
        bytesArrived()
    }

    func streamDidClose(_ stream: AcceptedStream) {
        transportClosed()
    }

    func streamPeerClosedWhileLent(_ stream: AcceptedStream) {
        clientEndedWhileLent()
    }

    func streamDidFinishHandshake(_ stream: AcceptedStream) {
        tls = stream.tlsDetails
    }

    func streamDidFailHandshake(_ stream: AcceptedStream, reason: String) {
        // nginx's line, with the connection's addresses as its SSL handshake logs them.
        guard let handshake = stream.tlsHandshake else { return }
        worker.lua.errorLog.log(.info, "\(reason) while SSL handshaking, client: \(TLSHandshakeLua.text(handshake.rawAddress(local: false)))"
            + ", server: \(TLSHandshakeLua.text(handshake.rawAddress(local: true), withPort: true))")
    }
}
#endif
