#if os(Linux)
import CosocketTestSupport
import Glibc
import Dispatch
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import CosocketCore

/// The readiness set nested in NIO's loop. These fail if a NIO update changes one of the three
/// things the descriptor transport relies on: the loop's epoll set can be found, NIO skips the
/// nested set's events, and the tick hook runs after every iteration.
@Suite struct DescriptorPollerTests {
    @Test func fdinfoListsWatchedDescriptors() {
        let text = """
            pos:\t0
            flags:\t02000002
            mnt_id:\t15
            ino:\t1057
            tfd:        5 events:       19 data:                5  pos:0 ino:1057 sdev:f
            tfd:       12 events:  8002001 data:      10000000c  pos:0 ino:3f1a sdev:8
            """
        #expect(LoopEpollDiscovery.watchedDescriptors(inFDInfo: text) == [5, 12])
        #expect(LoopEpollDiscovery.watchedDescriptors(inFDInfo: "pos:\t0\n").isEmpty)
    }

    /// Found by AddressSanitizer: the discovery copied each entry's whole 256-byte `d_name`,
    /// reading past entries glibc packs shorter (the last of a buffer, past its end). The
    /// names, read in place, are those the directory has; under `--sanitize=address` (CI) the
    /// old copy fails here, over a directory of many short names.
    @Test func directoryEntryNamesAreReadInPlace() throws {
        let directory = "/tmp/cosocket-dirent-\(getpid())"
        mkdir(directory, 0o700)
        defer {
            for index in 0..<300 { unlink("\(directory)/\(index)") }
            rmdir(directory)
        }
        for index in 0..<300 { close(open("\(directory)/\(index)", O_CREAT | O_WRONLY, 0o600)) }
        let stream = try #require(opendir(directory))
        defer { closedir(stream) }
        var names: Set<String> = []
        while let entry = readdir(stream) { names.insert(LoopEpollDiscovery.name(of: entry)) }
        #expect(names == Set((0..<300).map(String.init) + [".", ".."]))
    }

    @Test func everyLoopOfTheGroupGetsAReadinessSet() throws {
        let group = CosocketEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        for loop in group.group.makeIterator() {
            #expect(group.hasReadinessSet(loop))
            #expect(CosocketEngine(eventLoop: loop).usesDescriptorTransport)
        }
        #expect(!group.readinessSetsUnavailable)
        let channelsOnly = CosocketEventLoopGroup(numberOfThreads: 1, readinessSets: false)
        defer { try? channelsOnly.syncShutdownGracefully() }
        #expect(!channelsOnly.readinessSetsUnavailable)  // not asked for: nothing to warn about
        let elsewhere = MultiThreadedEventLoopGroup.singleton.any()
        #expect(!group.hasReadinessSet(elsewhere))
        #expect(!CosocketEngine(eventLoop: elsewhere).usesDescriptorTransport)
    }

    /// A reply on a descriptor connection reaches its reader through the nested set: NIO wakes
    /// for it, skips it, and the tick hook drains it. Then a timer armed by that reader (inside
    /// the drain, after the loop planned its next wait) still fires: the drain wakes the loop.
    @Test func nestedReadinessWakesTheLoopAndWorkFromTheDrainRuns() throws {
        let listener = TestListener { fd in Peer.echo(fd) }
        defer { listener.stop() }
        let group = CosocketEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.group.next()
        let probe = DrainProbe()
        try loop.submit {
            let engine = CosocketEngine(eventLoop: loop)
            let socket = StreamSocket(engine: engine)
            socket.delegate = probe
            probe.engine = engine
            probe.socket = socket
            switch socket.connect(to: .host("127.0.0.1", port: listener.port)) {
            case .success?: probe.socketDidConnect(socket, result: .success(()))
            case .failure(let error)?: probe.finish("connect failed: \(error)")
            case nil: break
            }
        }.wait()
        #expect(probe.wait(seconds: 5) == "timer fired after the reply")
    }
}

/// Connects, sends a line, reads it back (the read completes inside a drain), then arms a
/// timer from there and reports when it fires.
private final class DrainProbe: StreamSocketDelegate, @unchecked Sendable {
    var engine: CosocketEngine?
    var socket: StreamSocket?
    private let outcome = NIOLockedValueBox<String?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ text: String) {
        outcome.withLockedValue { $0 = text }
        done.signal()
    }

    func wait(seconds: Int) -> String? {
        guard done.wait(timeout: .now() + .seconds(seconds)) == .success else { return "no answer" }
        return outcome.withLockedValue { $0 }
    }

    func socketDidConnect(_ socket: StreamSocket, result: Result<Void, CosocketError>) {
        guard case .success = result else { return finish("connect failed") }
        switch socket.send(ByteBuffer(string: "ping\n")) {
        case .success?: break
        default: return finish("send did not finish at once")
        }
        switch socket.receive(.line) {
        case nil: break
        case let other?: finish("read finished before the reply: \(other)")
        }
    }

    func socketDidRead(_ socket: StreamSocket, outcome: ReadOutcome) {
        guard case .data(let line) = outcome, String(buffer: line) == "ping" else { return finish("bad read \(outcome)") }
        engine?.scheduleTask(in: .milliseconds(20)) { self.finish("timer fired after the reply") }
    }

    func socketDidSend(_ socket: StreamSocket, result: Result<Int, CosocketError>) {}
}
#endif
