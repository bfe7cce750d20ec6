/// The chunk name of inline Lua code, as lua-nginx-module makes it
/// (`ngx_http_lua_gen_chunk_name`): `=content_by_lua(nginx.conf:12)`. The file is named by
/// its base name when it is `.../nginx.conf`, by its path relative to the configuration's
/// directory when it lies under it (`../html/lua.conf`), else by its whole path; a name that
/// would not fit LuaJIT's 60-byte source names keeps its end behind `...`.
enum LuaChunkName {
    /// 60 bytes, less the four of `=(:)`.
    static let maximumLength = 56

    static func make(tag: String, file: String, line: Int, confPrefix: String?) -> String {
        let reserve = tag.utf8.count + String(line).utf8.count
        let path = Array(file.utf8)
        var name: ArraySlice<UInt8>
        if file.hasSuffix("/nginx.conf") {
            name = path.suffix(10)
        } else {
            name = path[...]
            if let confPrefix, case let prefix = Array(confPrefix.utf8), !prefix.isEmpty, path.count > prefix.count,
               path.starts(with: prefix)
            {
                name = path.dropFirst(prefix.count)
            }
            if name.count + reserve > maximumLength {
                name = name.suffix(max(0, maximumLength - reserve - 3))
                return "=\(tag)(...\(String(decoding: name, as: UTF8.self)):\(line))"
            }
        }
        return "=\(tag)(\(String(decoding: name, as: UTF8.self)):\(line))"
    }
}
