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

    func streamDidFinishHandshake(_ stream: AcceptedStream) {
        tls = stream.tlsDetails
    }
}
#endif
