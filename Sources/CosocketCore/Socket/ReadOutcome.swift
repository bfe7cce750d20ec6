import NIOCore

/// The result of one read.
public enum ReadOutcome: Sendable, Equatable {
    /// The pattern was satisfied; the bytes are a view of the receive buffer, not a copy.
    case data(ByteBuffer)
    /// A sized `receiveuntil` iteration reached the boundary (the reference returns `nil, nil`).
    case endOfIteration
    /// The read failed; the error carries the bytes received before the failure.
    case failure(CosocketError)
}
