/// The hooks a server has (``TLSServerConfiguration/hooks``): OpenSSL's callbacks are
/// installed only for those.
public struct TLSHookPoints: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let clientHello = TLSHookPoints(rawValue: 1)
    public static let sessionFetch = TLSHookPoints(rawValue: 2)
    public static let certificate = TLSHookPoints(rawValue: 4)
    public static let sessionStore = TLSHookPoints(rawValue: 8)
}

#if os(Linux)
/// Code that runs inside a client connection's TLS handshake (the host's
/// `ssl_client_hello_by_lua*`, `ssl_session_fetch_by_lua*`, `ssl_certificate_by_lua*` and
/// `ssl_session_store_by_lua*`). Called on the connection's loop, from inside OpenSSL's
/// callbacks.
///
/// The first three may wait (on a cosocket, a timer): they answer ``TLSHookOutcome/pending``,
/// the handshake pauses, and they end it later with ``TLSServerHandshake/hookFinished(ok:)``,
/// which OpenSSL's retry values make possible (its client-hello and certificate callbacks ask
/// to be called again). A session store cannot wait: OpenSSL has no retry for it.
public protocol TLSServerHooks: AnyObject {
    /// Runs `point`'s code for `handshake`.
    func run(_ point: TLSHookPoint, for handshake: TLSServerHandshake) -> TLSHookOutcome
    /// A new session to store (`handshake.newSession` holds it during the call).
    func storeSession(for handshake: TLSServerHandshake)
}

/// The places a hook runs at, in handshake order.
public enum TLSHookPoint: Int, Sendable, CaseIterable {
    /// The ClientHello arrived, before its extensions are processed (SNI not applied yet).
    case clientHello
    /// The ClientHello carries a session ID: the code may load the session to resume.
    case sessionFetch
    /// A full handshake is about to choose the server's certificate.
    case certificate
}

/// How a hook's run went.
public enum TLSHookOutcome: Sendable, Equatable {
    /// Done; the handshake goes on.
    case proceed
    /// The handshake is refused (a Lua error, `ngx.exit(ngx.ERROR)`).
    case fail
    /// Still running: ``TLSServerHandshake/hookFinished(ok:)`` will tell.
    case pending
}

/// Where each hook of one handshake stands: a pure value, so that OpenSSL calling a callback
/// again (its retry) finds the answer of the run it started, and a run is started once.
struct TLSHookProgress: Equatable {
    enum State: Equatable {
        case notRun
        case running
        case finished(ok: Bool)
    }

    /// What a callback answers OpenSSL.
    enum Answer: Equatable {
        case proceed, fail, retry
        /// Nothing was run yet: start the hook.
        case start
    }

    private(set) var states: [State] = Array(repeating: .notRun, count: TLSHookPoint.allCases.count)
    /// The hook the handshake waits for.
    private(set) var waitingFor: TLSHookPoint?

    /// OpenSSL called `point`'s callback.
    func answer(at point: TLSHookPoint) -> Answer {
        switch states[point.rawValue] {
        case .notRun: return .start
        case .running: return .retry
        case .finished(let ok): return ok ? .proceed : .fail
        }
    }

    /// The hook was started and answered `outcome` at once.
    mutating func started(_ point: TLSHookPoint, outcome: TLSHookOutcome) -> Answer {
        switch outcome {
        case .proceed:
            states[point.rawValue] = .finished(ok: true)
            return .proceed
        case .fail:
            states[point.rawValue] = .finished(ok: false)
            return .fail
        case .pending:
            states[point.rawValue] = .running
            waitingFor = point
            return .retry
        }
    }

    /// The waiting hook ended; false when none waited (a second report is ignored).
    mutating func finish(ok: Bool) -> Bool {
        guard let point = waitingFor, states[point.rawValue] == .running else { return false }
        states[point.rawValue] = .finished(ok: ok)
        waitingFor = nil
        return true
    }
}
#endif
