import CosocketServer
import NIOCore

/// The request-head parser and the chunked decoder as a connection drives them: a head, its
/// body (chunked or `Content-Length`), the next pipelined head, and so on. The first input byte
/// picks the limits and the header options; the rest is what the client sent.
///
/// Checks: a head never takes more bytes than were buffered, every range of a head lies in its
/// bytes, and the connection sees the same heads, bodies and error whether the bytes arrive at
/// once or in pieces (the parsers resume where they stopped).
enum HTTPRequestFuzz: FuzzTarget {
    static func run(_ input: [UInt8]) {
        guard let options = input.first else { return }
        let stream = Array(input.dropFirst())
        let whole = HTTPConnectionModel(options: options)
        var wholeModel = whole
        var buffer = ByteBuffer(bytes: stream)
        wholeModel.drive(&buffer)
        wholeModel.finish()

        var pieces = whole
        var random = SplitRandom(input)
        var incoming = ByteBuffer()
        var offset = 0
        for length in random.chunks(stream.count) {
            incoming.writeBytes(stream[offset..<(offset + length)])
            offset += length
            pieces.drive(&incoming)
        }
        pieces.finish()
        fuzzCheck(wholeModel.events == pieces.events, "whole \(wholeModel.events) != in pieces \(pieces.events)")
    }
}

/// What a connection does with the client's bytes, recorded as events to compare.
struct HTTPConnectionModel {
    var parser: HTTPRequestParser
    var decoder: ChunkedBodyDecoder?
    var bodyLeft = 0
    var body: [UInt8] = []
    var events: [String] = []
    var failed = false

    init(options: UInt8) {
        // Small limits (a line of 16-64 bytes, a head of 1-4 lines) half the time, to reach them.
        if options & 1 != 0 {
            let line = 16 << Int((options >> 1) & 3)
            parser = HTTPRequestParser(maxLineLength: line, maxHeadLength: line * (1 + Int((options >> 3) & 3)))
        } else {
            parser = HTTPRequestParser()
        }
        parser.ignoreInvalidHeaders = options & 0x20 == 0
        parser.underscoresInHeaders = options & 0x40 != 0
        decoder = nil
    }

    mutating func drive(_ buffer: inout ByteBuffer) {
        while !failed {
            if var chunked = decoder {
                do {
                    let part = try chunked.next(&buffer)
                    decoder = chunked
                    switch part {
                    case nil: return
                    case .data(let data)?:
                        fuzzCheck(data.readableBytes > 0, "empty chunk data")
                        body += data.readableBytesView
                    case .end?:
                        events.append("chunked body \(body.count) \(checksum(body))")
                        body = []
                        decoder = nil
                    }
                } catch {
                    events.append("body error \(error)")
                    failed = true
                }
                continue
            }
            if bodyLeft > 0 {
                let count = min(bodyLeft, buffer.readableBytes)
                if count == 0 { return }
                body += buffer.readBytes(length: count) ?? []
                bodyLeft -= count
                if bodyLeft == 0 {
                    events.append("body \(body.count) \(checksum(body))")
                    body = []
                }
                continue
            }
            let before = buffer.readableBytes
            do {
                guard let head = try parser.parse(&buffer) else { return }
                let consumed = before - buffer.readableBytes
                fuzzCheck(consumed >= head.bytes.readableBytes && consumed <= before, "head of \(head.bytes.readableBytes) bytes took \(consumed) of \(before)")
                events.append(Self.summary(head))
                if head.isChunked {
                    decoder = ChunkedBodyDecoder()
                } else if let length = head.contentLength {
                    fuzzCheck(length >= 0, "negative Content-Length")
                    bodyLeft = length
                }
            } catch {
                events.append("head error \(error) \(error.status)")
                failed = true
            }
        }
    }

    /// The end of input: what was left unfinished.
    mutating func finish() {
        if failed { return }
        if decoder != nil || bodyLeft > 0 { events.append("body unfinished \(body.count)") }
        if parser.isMidHead { events.append("head unfinished") }
    }

    /// Everything a handler could read from the head, after checking its ranges.
    static func summary(_ head: HTTPRequestHead) -> String {
        let count = head.bytes.readableBytes
        func inside(_ range: Range<Int>, _ what: String) {
            fuzzCheck(range.lowerBound >= 0 && range.upperBound <= count, "\(what) \(range) outside a head of \(count)")
        }
        inside(head.methodRange, "method")
        inside(head.uriRange, "uri")
        inside(head.pathRange, "path")
        if let query = head.queryRange { inside(query, "query") }
        for field in head.fields {
            inside(field.name, "name")
            inside(field.value, "value")
            fuzzCheck(!field.name.isEmpty && field.name.upperBound < field.value.lowerBound + 1, "field \(field)")
        }
        fuzzCheck(head.bytes.getInteger(at: count - 1, as: UInt8.self) == 10, "head does not end in LF")
        let headers = head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
        return "head \(head.methodName) \(head.method) \(head.version) \(head.uri) path=\(head.path) query=\(head.query ?? "-") "
            + "host=\(head.host ?? "-") cl=\(head.contentLength.map(String.init) ?? "-") chunked=\(head.isChunked) "
            + "keepalive=\(head.keepAlive) \(headers) \(head.header(named: "Host") ?? "") \(head.headers(named: "x").count)"
    }
}

func checksum(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
