/// One variant's timing, printed as the JSON line that bench/compare reads.
struct PingLoopResult {
    let implementation: String
    let roundTrips: Int
    let seconds: Double

    var jsonLine: String {
        "{\"implementation\": \"\(implementation)\", \"round_trips\": \(roundTrips), \"seconds\": \(seconds)}"
    }

    /// Times `roundTrips` calls of `roundTrip`.
    static func measure(
        _ implementation: String, roundTrips: Int, _ roundTrip: () async throws -> Void
    ) async throws -> PingLoopResult {
        let elapsed = try await ContinuousClock().measure {
            for _ in 0..<roundTrips { try await roundTrip() }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return PingLoopResult(implementation: implementation, roundTrips: roundTrips, seconds: seconds)
    }
}
