import CosocketCore
import NIOCore
import NIOPosix
import Testing

@testable import CosocketLua

/// A worker reuses a context that ended once nothing else holds it, and only then.
@Suite struct ContextReuseTests {
    /// Runs a chunk that waits once (so that it ends from the loop, with no caller holding its
    /// context) in a fresh context, then asks the worker for another context.
    private static func runOnce(holdingTheContext: Bool) throws -> (reused: Bool, clean: Bool, heldFinished: Bool) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let engine = CosocketEngine(eventLoop: loop, configuration: EngineConfiguration())
        CosocketEngine.register(engine)
        let done = loop.makePromise(of: (Bool, Bool, Bool).self)
        loop.execute {
            do {
                let worker = try LuaWorker(engine: engine, errorLog: DiscardingLog())
                let chunk = try worker.load(Array("ngx.sleep(0)".utf8), chunkName: "=test")
                let bound = NIOLoopBound(worker, eventLoop: loop)
                var held: LuaContext?
                weak var ended: LuaContext?
                do {
                    let context = worker.makeContext(kind: .timer)
                    context.checksClientAbort = true
                    ended = context
                    if holdingTheContext { held = context }
                    context.delegate = ScriptCompletion { _ in
                        // After the finish has parked the coroutine (and maybe the context).
                        loop.execute {
                            let next = bound.value.makeContext(kind: .request(phase: "content"))
                            let reused = next === ended
                            let clean = !next.isFinished && !next.checksClientAbort
                                && next.delegate == nil && next.phaseName == "content"
                            let heldFinished = held.map { $0.isFinished && $0.checksClientAbort } ?? true
                            bound.value.shutdown()
                            done.succeed((reused, clean, heldFinished))
                        }
                    }
                    worker.start(chunk, in: context)
                }
            } catch {
                done.fail(error)
            }
        }
        let (reused, clean, heldFinished) = try done.futureResult.wait()
        return (reused, clean, heldFinished)
    }

    @Test func anEndedContextNothingHoldsIsReusedClean() throws {
        let run = try Self.runOnce(holdingTheContext: false)
        #expect(run.reused)
        #expect(run.clean)
    }

    @Test func aContextTheHostStillHoldsIsLeftAlone() throws {
        let run = try Self.runOnce(holdingTheContext: true)
        #expect(!run.reused)
        #expect(run.heldFinished)
    }
}

private final class DiscardingLog: LuaErrorLog, @unchecked Sendable {
    func log(_ level: LuaLogLevel, _ message: String) {}
}
