import Testing

@testable import CosocketServer

/// Chunk names as lua-nginx-module makes them (the expectations are the reference test
/// suite's, t/002-content.t 46-48, and ref-nginx's for the main file).
@Suite struct LuaChunkNameTests {
    @Test func theMainFileIsNamedByItsBaseName() {
        #expect(LuaChunkName.make(tag: "content_by_lua", file: "/srv/t/servroot/conf/nginx.conf", line: 40, confPrefix: "/srv/t/servroot/conf/")
            == "=content_by_lua(nginx.conf:40)")
    }

    @Test func anIncludedFileIsNamedRelativeToTheConfigurationDirectory() {
        #expect(LuaChunkName.make(tag: "content_by_lua", file: "/srv/conf/../html/lua.conf", line: 2, confPrefix: "/srv/conf/")
            == "=content_by_lua(../html/lua.conf:2)")
    }

    @Test func aFileElsewhereIsNamedByItsWholePath() {
        #expect(LuaChunkName.make(tag: "content_by_lua", file: "/tmp/lua.conf", line: 2, confPrefix: "/srv/conf/")
            == "=content_by_lua(/tmp/lua.conf:2)")
    }

    @Test func aLongNameKeepsItsEnd() {
        let file = "/srv/conf/../html/" + String(repeating: "1234567890", count: 5) + "1234.conf"
        let name = LuaChunkName.make(tag: "content_by_lua", file: file, line: 2, confPrefix: "/srv/conf/")
        #expect(name == "=content_by_lua(...234567890123456789012345678901234.conf:2)")
        // 60 bytes at most, LuaJIT's limit for a source name.
        #expect(name.utf8.count <= 60)
    }
}
