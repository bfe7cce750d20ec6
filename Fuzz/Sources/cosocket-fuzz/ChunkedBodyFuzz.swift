import CosocketServer
import NIOCore

/// The chunked body decoder on its own: the first byte picks the cap on extensions and
/// trailers, the rest is the body. Checks: data parts are never empty, the decoder never
/// takes bytes past the body's end, and the body, the end and the bytes left after it (a
/// pipelined request's) are the same whether the bytes arrive at once or in pieces.
enum ChunkedBodyFuzz: FuzzTarget {
    static func run(_ input: [UInt8]) {
        guard let options = input.first else { return }
        let stream = Array(input.dropFirst())
        let overhead = options & 1 == 0 ? 32 * 1024 : Int(options >> 1)

        var whole = ChunkedModel(maxOverhead: overhead)
        var buffer = ByteBuffer(bytes: stream)
        whole.drive(&buffer)
        whole.left = Array(buffer.readableBytesView)

        var pieces = ChunkedModel(maxOverhead: overhead)
        var random = SplitRandom(input)
        var incoming = ByteBuffer()
        var offset = 0
        for length in random.chunks(stream.count) {
            incoming.writeBytes(stream[offset..<(offset + length)])
            offset += length
            pieces.drive(&incoming)
        }
        pieces.left = Array(incoming.readableBytesView)
        fuzzCheck(whole.outcome == pieces.outcome, "whole \(whole.outcome) != in pieces \(pieces.outcome)")
        fuzzCheck(whole.body == pieces.body, "bodies differ")
        // After the end both stop at the same byte; before it, every byte has been taken.
        if whole.outcome == "more" { fuzzCheck(whole.left.isEmpty, "bytes left while wanting more") }
        if whole.outcome == "end" {
            fuzzCheck(whole.left == pieces.left, "left after the end: \(whole.left.count) != \(pieces.left.count)")
        }
    }
}

struct ChunkedModel {
    var decoder: ChunkedBodyDecoder
    var body: [UInt8] = []
    var outcome = "more"
    var left: [UInt8] = []

    init(maxOverhead: Int) { decoder = ChunkedBodyDecoder(maxOverhead: maxOverhead) }

    mutating func drive(_ buffer: inout ByteBuffer) {
        while outcome == "more" {
            let before = buffer.readableBytes
            do {
                switch try decoder.next(&buffer) {
                case nil:
                    return
                case .data(let data)?:
                    fuzzCheck(data.readableBytes > 0 && data.readableBytes <= before - buffer.readableBytes, "data part of \(data.readableBytes)")
                    body += data.readableBytesView
                case .end?:
                    fuzzCheck(decoder.isFinished, "end before finished")
                    outcome = "end"
                    // The end is sticky and takes nothing more.
                    let after = buffer.readableBytes
                    fuzzCheck((try? decoder.next(&buffer)) == .end && buffer.readableBytes == after, "end not sticky")
                }
            } catch {
                outcome = "error \(error)"
            }
        }
    }
}
