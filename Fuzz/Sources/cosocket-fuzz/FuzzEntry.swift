#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a parser fed the input, checking what it can cheaply check. A target
/// that finds a broken invariant calls ``fuzzCheck``, which aborts (libFuzzer then saves the
/// input as a crash); a trap inside the parser is caught by libFuzzer the same way.
protocol FuzzTarget {
    static func run(_ input: [UInt8])
}

/// The targets by the name `scripts/fuzz` passes in `COSOCKET_FUZZ_TARGET` (one executable
/// for all of them: one link of the instrumented package instead of six).
nonisolated(unsafe) let fuzzTargets: [String: any FuzzTarget.Type] = [
    "http-request": HTTPRequestFuzz.self,
    "chunked-body": ChunkedBodyFuzz.self,
    "nginx-conf": NginxConfFuzz.self,
    "read-matcher": ReadMatcherFuzz.self,
    "dns-message": DNSMessageFuzz.self,
    "resolv-conf": ResolvConfFuzz.self,
]

nonisolated(unsafe) var selectedTarget: (any FuzzTarget.Type)?

/// Reports a broken invariant with the target's words and aborts, so libFuzzer keeps the input.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        report("fuzz invariant broken: \(message())\n")
        abort()
    }
}

func report(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Picks the target named by `COSOCKET_FUZZ_TARGET`, or exits.
func selectTarget() {
    let name = getenv("COSOCKET_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = fuzzTargets[name] else {
        report("COSOCKET_FUZZ_TARGET must be one of: \(fuzzTargets.keys.sorted().joined(separator: ", "))\n")
        exit(2)
    }
    selectedTarget = target
    // `COSOCKET_FUZZ_SELFTEST=1`: every input counts as a crash, to check that a finding fails
    // scripts/fuzz and scripts/test.
    if getenv("COSOCKET_FUZZ_SELFTEST") != nil { selfTest = true }
}

nonisolated(unsafe) var selfTest = false

/// Also exported under libFuzzer's names, in case its own `main` is the one linked (it pulls
/// its driver from the runtime archive): then it calls these two.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    selectTarget()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    fuzzCheck(!selfTest, "COSOCKET_FUZZ_SELFTEST is set")
    selectedTarget?.run(input)
    return 0
}

/// A small deterministic generator seeded from the input, for the split points of the
/// incremental targets (the same input always splits the same way, so crashes reproduce).
struct SplitRandom {
    var state: UInt64

    init(_ input: [UInt8]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        state = hash | 1
    }

    mutating func next(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return bound <= 0 ? 0 : Int(state % UInt64(bound))
    }

    /// Chunk lengths covering `count` bytes: mostly small, sometimes large.
    mutating func chunks(_ count: Int) -> [Int] {
        var lengths: [Int] = []
        var left = count
        while left > 0 {
            let length = Swift.min(left, next(4) == 0 ? 1 + next(256) : 1 + next(8))
            lengths.append(length)
            left -= length
        }
        return lengths
    }
}
