@testable import CosocketCore
import NIOCore

/// The receive patterns (`receive(n)`, `*l`, `*a`, `receiveany`) and `receiveuntil` (with and
/// without a size, inclusive or not) over a stream, one receive after another as a socket makes
/// them. The first bytes pick the pattern and boundary; the rest is what the peer sent.
///
/// Checks each decision against the bytes (`count <= consume <= buffered`, a line ends at its
/// LF, a boundary is where it is said to be and nowhere earlier, `needMore` only when nothing
/// in the buffer satisfies the pattern), that no two receives in a row take nothing (a hang),
/// that CR stripping drops exactly the CRs, and that the results are the same when the bytes
/// arrive at once and in pieces (except `receiveany`, whose answer depends on arrival).
enum ReadMatcherFuzz: FuzzTarget {
    static func run(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let kind = input[0] % 5
        let argument = Int(input[1])
        var rest = Array(input.dropFirst(2))
        var boundary: [UInt8] = []
        if kind == 4 {
            // A boundary of 1-8 bytes from the input; its small alphabet makes self-overlap common.
            let length = 1 + (argument & 7)
            guard rest.count >= length else { return }
            boundary = rest.prefix(length).map { $0 < 0x80 ? UInt8(ascii: "a") + $0 % 3 : $0 }
            rest.removeFirst(length)
        }
        let stream = rest
        let make: () -> Receiver = {
            switch kind {
            case 0: return Receiver(pattern: { .bytes(1 + argument % 32) })
            case 1: return Receiver(pattern: { .line })
            case 2: return Receiver(pattern: { .all })
            case 3: return Receiver(pattern: { .any(max: 1 + argument % 16) })
            default:
                let reader = UntilReader(boundary: boundary, inclusive: argument & 8 != 0)
                let limit: Int? = argument & 16 != 0 ? 1 + (argument >> 5) : nil
                return Receiver(pattern: { .until(reader, limit: limit) })
            }
        }
        var whole = make()
        whole.arrive(stream[...], eof: true)

        var pieces = make()
        var random = SplitRandom(input)
        var offset = 0
        let lengths = random.chunks(stream.count)
        for (index, length) in lengths.enumerated() {
            pieces.arrive(stream[offset..<(offset + length)], eof: index == lengths.count - 1)
            offset += length
        }
        if lengths.isEmpty { pieces.arrive([], eof: true) }
        if kind == 4, case .until(let reader, let limit) = whole.pattern() {
            let expected = untilSpecification(stream, boundary: reader.boundary, inclusive: reader.inclusive, limit: limit)
            fuzzCheck(whole.results == expected, "receiveuntil gave \(whole.results), the specification \(expected)")
        }
        if kind != 3 {
            fuzzCheck(whole.results == pieces.results, "whole \(whole.results) != in pieces \(pieces.results)")
        } else {
            fuzzCheck(Array(whole.results.joined()) == Array(pieces.results.joined()), "receiveany lost or made up bytes")
        }
    }
}

/// One socket's receives: a matcher per receive, the buffer as the connection keeps it.
struct Receiver {
    let pattern: () -> ReadPattern
    var buffer = ByteBuffer()
    var matcher: ReadMatcher?
    var results: [[UInt8]] = []
    var closed = false
    var idleReceives = 0

    init(pattern: @escaping () -> ReadPattern) { self.pattern = pattern }

    mutating func arrive(_ bytes: ArraySlice<UInt8>, eof: Bool) {
        buffer.writeBytes(bytes)
        while !closed {
            if matcher == nil { matcher = ReadMatcher(pattern()) }
            let decision = buffer.withUnsafeReadableBytes { matcher!.evaluate($0, eof: eof) }
            let buffered = Array(buffer.readableBytesView)
            check(decision, buffered, eof: eof)
            switch decision {
            case .needMore:
                return
            case .deliver(let count, let consume, let stripCR):
                let data = buffer.takeBytes(count, consuming: consume, strippingCR: stripCR)
                let expected = stripCR ? buffered.prefix(count).filter { $0 != 13 } : Array(buffered.prefix(count))
                fuzzCheck(Array(data.readableBytesView) == expected, "takeBytes gave the wrong bytes")
                results.append(Array(data.readableBytesView))
                // `*a` has read to the end: another would answer "" forever.
                if case .all = matcher!.pattern { closed = true }
                noteProgress(consume)
            case .endOfIteration(let consume):
                buffer.moveReaderIndex(forwardBy: consume)
                results.append([0xff, 0xfe])  // the iterator's nil, nil
                noteProgress(consume)
            case .closedEarly:
                results.append([0xff, 0xfd] + buffered)
                closed = true
            }
            matcher = nil
        }
    }

    /// Two receives in a row that take nothing would repeat forever on a real socket.
    mutating func noteProgress(_ consumed: Int) {
        idleReceives = consumed == 0 ? idleReceives + 1 : 0
        fuzzCheck(idleReceives < 2, "two receives in a row took nothing")
    }

    func check(_ decision: ReadDecision, _ bytes: [UInt8], eof: Bool) {
        let pattern = pattern()
        switch decision {
        case .needMore:
            fuzzCheck(!eof || { if case .all = pattern { false } else { true } }(), "needMore at the end of the stream")
            switch pattern {
            case .bytes(let n): fuzzCheck(bytes.count < n, "needMore with \(bytes.count) of \(n) bytes")
            case .line: fuzzCheck(!bytes.contains(10), "needMore with a LF buffered")
            case .any: fuzzCheck(bytes.isEmpty, "receiveany waits with bytes buffered")
            case .until(let reader, _):
                fuzzCheck(firstOccurrence(reader.boundary, in: bytes) == nil, "needMore with the boundary buffered")
            case .all: break
            }
        case .deliver(let count, let consume, _):
            fuzzCheck(count >= 0 && count <= consume && consume <= bytes.count, "deliver \(count)/\(consume) of \(bytes.count)")
            switch pattern {
            case .bytes(let n): fuzzCheck(count == n && consume == n, "receive(\(n)) delivered \(count)")
            case .line: fuzzCheck(consume == count + 1 && bytes[count] == 10 && !bytes[..<count].contains(10), "line ends wrong")
            case .all: fuzzCheck(eof && consume == bytes.count, "*a before the end")
            case .any(let max): fuzzCheck(count >= 1 && count <= max, "receiveany(\(max)) gave \(count)")
            case .until(let reader, let limit):
                let found = firstOccurrence(reader.boundary, in: bytes)
                // With `inclusive` the boundary rides whole on the piece that reaches it.
                if let limit {
                    fuzzCheck(count <= limit + (reader.inclusive ? reader.boundary.count : 0), "sized receiveuntil gave \(count) > \(limit)")
                }
                if consume > count || (reader.inclusive && found.map({ $0 + reader.boundary.count == count }) == true) {
                    // The boundary was reached: it is the first one, and is consumed.
                    fuzzCheck(found.map { $0 + reader.boundary.count == consume } == true, "boundary not at \(consume - reader.boundary.count)")
                    let dataEnd = reader.inclusive ? consume : consume - reader.boundary.count
                    fuzzCheck(limit != nil || count == dataEnd, "receiveuntil data of \(count), boundary data \(dataEnd)")
                } else {
                    // Data before a boundary that is not (all) here yet.
                    fuzzCheck(found.map { $0 >= count } ?? true, "data runs into the boundary")
                }
            }
        case .endOfIteration(let consume):
            guard case .until(let reader, let limit) = pattern, limit != nil else {
                fuzzCheck(false, "endOfIteration for an unsized pattern")
                return
            }
            fuzzCheck(consume == 0 || (consume == reader.boundary.count && Array(bytes.prefix(consume)) == reader.boundary), "end of iteration consumes \(consume)")
        case .closedEarly:
            fuzzCheck(eof, "closedEarly before the end")
            switch pattern {
            case .bytes(let n): fuzzCheck(bytes.count < n, "closed with enough bytes")
            case .line: fuzzCheck(!bytes.contains(10), "closed with a line buffered")
            case .until(let reader, _): fuzzCheck(firstOccurrence(reader.boundary, in: bytes) == nil, "closed with the boundary buffered")
            case .any: fuzzCheck(bytes.isEmpty, "closed with bytes buffered")
            case .all: fuzzCheck(false, "*a closed early")
            }
        }
    }
}

/// The naive search the matcher's KMP scan must agree with.
func firstOccurrence(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return start
    }
    return nil
}

/// What `receiveuntil` hands out for a whole stream, written the plain way: the data before each
/// boundary (and the boundary with `inclusive`); with a size, that data in pieces of at most
/// the size, the boundary (when inclusive) riding on the piece that reaches it unless that
/// piece is already full, as the reference does, then
/// the iterator's `nil, nil`; at the end without a boundary, what is left and `closed`, pieces
/// of the size still handed out first as long as they cannot be the start of a boundary.
func untilSpecification(_ stream: [UInt8], boundary: [UInt8], inclusive: Bool, limit: Int?) -> [[UInt8]] {
    var results: [[UInt8]] = []
    var position = 0
    let end: [UInt8] = [0xff, 0xfe]
    while true {
        let rest = Array(stream[position...])
        guard let found = firstOccurrence(boundary, in: rest) else {
            if let limit {
                // The longest tail that could still begin a boundary is held back.
                var held = min(boundary.count - 1, rest.count)
                while held > 0 && !rest.suffix(held).elementsEqual(boundary.prefix(held)) { held -= 1 }
                var left = rest[...]
                while left.count - held >= limit {
                    results.append(Array(left.prefix(limit)))
                    left = left.dropFirst(limit)
                }
                results.append([0xff, 0xfd] + left)
            } else {
                results.append([0xff, 0xfd] + rest)
            }
            return results
        }
        var data = rest[..<found]
        guard let limit else {
            results.append(Array(data) + (inclusive ? boundary : []))
            position += found + boundary.count
            continue
        }
        // A piece ends at `limit` data bytes before the boundary is looked at.
        while data.count > limit || (inclusive && data.count == limit) {
            results.append(Array(data.prefix(limit)))
            data = data.dropFirst(limit)
        }
        if !data.isEmpty || inclusive { results.append(Array(data) + (inclusive ? boundary : [])) }
        results.append(end)
        position += found + boundary.count
    }
}
