import Testing

@testable import CosocketLua

@Suite struct LuaConfigurationTests {
    @Test func doubleSemicolonStandsForTheDefaultPath() {
        #expect(LuaConfiguration.resolve(nil, default: "D") == "D")
        #expect(LuaConfiguration.resolve("/a/?.lua;;", default: "D") == "/a/?.lua;D;")
        #expect(LuaConfiguration.resolve(";;/b/?.lua", default: "D") == ";D;/b/?.lua")
        #expect(LuaConfiguration.resolve("/only/?.lua", default: "D") == "/only/?.lua")
    }

    @Test func logLevelsOrderBySeverity() {
        #expect(LuaLogLevel.error < LuaLogLevel.warn)
        #expect(LuaLogLevel(name: "info") == .info)
        #expect(LuaLogLevel(name: "loud") == nil)
    }
}
