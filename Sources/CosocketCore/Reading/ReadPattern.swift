/// What a `receive` call waits for, in the terms of lua-nginx-module's `tcpsock:receive`,
/// `receiveany` and `receiveuntil`.
public enum ReadPattern: Sendable {
    /// Exactly `n` bytes (`receive(n)`); fewer only with an error at end of stream.
    case bytes(Int)
    /// A line ended by LF; CR bytes anywhere in it are dropped and the LF is not returned (`*l`).
    case line
    /// Everything until the peer closes (`*a`); end of stream is success, not `closed`.
    case all
    /// Whatever is available, at least one byte and at most `max` (`receiveany(max)`).
    case any(max: Int)
    /// Data up to a boundary (`receiveuntil`); `limit` is the iterator's optional size argument.
    case until(UntilReader, limit: Int?)
}

/// Parses the reference's string patterns (`*l`, `*a`); `nil` means the pattern is unknown.
extension ReadPattern {
    public init?(patternString: String) {
        switch patternString.utf8.first == UInt8(ascii: "*") ? patternString.utf8.dropFirst().first : nil {
        case UInt8(ascii: "l"): self = .line
        case UInt8(ascii: "a"): self = .all
        default: return nil
        }
    }
}
