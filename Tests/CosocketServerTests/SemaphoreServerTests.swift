import Foundation
import Testing

@testable import CosocketServer

/// `ngx.semaphore` across requests of one worker.
@Suite struct SemaphoreServerTests {
    @Test func aWaiterWhoseRequestEndsIsDroppedAndALaterPostServesOthers() throws {
        let server = try TestServer(
            server: """
                location = /park {
                    content_by_lua_block {
                        local semaphore = require "ngx.semaphore"
                        SEM = SEM or semaphore.new()
                        ngx.thread.spawn(function() SEM:wait(5) ngx.log(ngx.ERR, "woken after its request ended") end)
                        ngx.sleep(0.01)
                        ngx.print(SEM:count())
                        ngx.exit(200)
                    }
                }
                location = /count {
                    content_by_lua_block {
                        ngx.print(SEM:count(), " ")
                        SEM:post()
                        ngx.sleep(0.01)
                        ngx.print(SEM:count(), " ", SEM:wait(0))
                    }
                }
                location = /timer {
                    content_by_lua_block {
                        local sem = require("ngx.semaphore").new()
                        ngx.timer.at(0.01, function() sem:post() end)
                        ngx.print(sem:wait(1))
                    }
                }
                """)
        #expect(server.get("/park").body == "-1")
        #expect(server.get("/park").body == "-1")
        #expect(server.get("/count").body == "0 1 true")
        #expect(!server.log.contains("woken after its request ended"))
        #expect(server.get("/timer").body == "truenil")  // a parked wait returns true, nil
    }
}
