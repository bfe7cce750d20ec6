/// `proxy_pass` and its `proxy_*` settings, as one inherited group: `proxy_set_header` lists
/// replace the level above as a whole, as nginx merges them.
struct ProxySettings: Sendable {
    var httpVersion = "1.0"
    var setHeaders: [(name: String, value: String)] = []
    var connectTimeout = 60_000
    var sendTimeout = 60_000
    var readTimeout = 60_000
    var passRequestHeaders = true
    var passRequestBody = true
    /// `proxy_buffering`: a body that times out is dropped when on (nginx's buffered answer).
    var buffering = true
}

/// The `upstream name { server host:port; ... }` blocks of the http level, by name (they may
/// come after the servers that use them, so they are read before the servers are built).
final class UpstreamTable {
    var servers: [String: [String]] = [:]
}

/// ngx_http_proxy_module's `proxy_pass`, as a content handler written in Lua over a cosocket,
/// made when the configuration is loaded (as echo-nginx-module's directives are): the request
/// goes to the upstream with nginx's defaults (HTTP/1.0, `Host: $proxy_host`,
/// `Connection: close`, the client's other headers and body) and the answer comes back with
/// its status and headers (less the hop-by-hop ones, `Date` and `Server`). Upstream blocks
/// are tried in turn from a per-worker round-robin start, the next on a connect failure.
/// Not built: buffering to disk, caching, `proxy_redirect` rewriting, keep-alive upstream
/// connections, HTTPS upstreams.
enum ProxyPass {
    static let directives: Set<String> = [
        "proxy_set_header", "proxy_http_version", "proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout",
        "proxy_pass_request_headers", "proxy_pass_request_body", "proxy_buffering",
    ]

    /// The handler for `proxy_pass url` in a location whose prefix is `prefix` (nil for a
    /// regex or named location, where a URI part in `url` is sent as is).
    static func lua(url: String, prefix: String?, settings: ProxySettings, upstreams: [String: [String]]) -> [UInt8] {
        let hasVariables = url.utf8.contains(UInt8(ascii: "$"))
        var headers = "{"
        for (name, value) in settings.setHeaders {
            headers += "{\(EchoDirectives.literal(name)), \(VariableTemplate.luaExpression(value))},"
        }
        headers += "}"
        var servers = "{"
        for (name, list) in upstreams.sorted(by: { $0.key < $1.key }) {
            servers += "[\(EchoDirectives.literal(name))] = {" + list.map(EchoDirectives.literal).joined(separator: ",") + "},"
        }
        servers += "}"
        let prelude = """
            local url, prefix, verbatim = \(VariableTemplate.luaExpression(url)), \(prefix.map(EchoDirectives.literal) ?? "nil"), \(hasVariables)
            local set_headers, upstreams = \(headers), \(servers)
            local version, timeouts = \(EchoDirectives.literal(settings.httpVersion)), { \(settings.connectTimeout), \(settings.sendTimeout), \(settings.readTimeout) }
            local pass_headers, pass_body, buffering = \(settings.passRequestHeaders), \(settings.passRequestBody), \(settings.buffering)

            """
        return Array((prelude + runtime).utf8)
    }

    private static let runtime = #"""
        local var, req = ngx.var, ngx.req
        local function fail(status, message)
            ngx.log(ngx.ERR, message)
            return ngx.exit(status)
        end
        local scheme, rest = url:match("^(%a+)://(.*)$")
        if not scheme or scheme:lower() ~= "http" then
            return fail(500, "invalid URL prefix in \"" .. url .. "\"")
        end
        local authority, uri = rest:match("^([^/]*)(.*)$")
        local candidates = upstreams[authority]
        local proxy_host = authority
        if not candidates then
            candidates = { authority }
            proxy_host = authority:gsub(":80$", "")
        end

        -- The URI sent: the location's part replaced by the URL's, the URL's as is when it
        -- names variables, or the client's when the URL has none.
        local function escape(path)
            return (path:gsub("[%z\1-\32#%%%?\127-\255]", function(c) return string.format("%%%02X", c:byte()) end))
        end
        local args = var.args
        local suffix = (args and args ~= "") and ("?" .. args) or ""
        local target
        if uri ~= "" then
            if verbatim or not prefix then
                target = uri
            else
                target = uri .. escape(var.uri:sub(#prefix + 1)) .. suffix
            end
        else
            -- The client's bytes while the URI and arguments are the ones it sent; nginx's
            -- escaping of the changed ones otherwise (a rewrite, ngx.req.set_uri, an internal
            -- redirect).
            local sent = var.request_uri
            local path, query = sent:match("^([^?]*)%??(.*)$")
            if not req.is_internal() and ngx.unescape_uri(path) == var.uri and query == (args or "") then
                target = sent
            else
                target = escape(var.uri) .. suffix
            end
        end

        local set = {}
        for _, header in ipairs(set_headers) do set[header[1]:lower()] = header[2] end
        local lines = { req.get_method(), " ", target, " HTTP/", version, "\r\n" }
        local function add(name, value)
            if value ~= "" then
                lines[#lines + 1] = name .. ": " .. value .. "\r\n"
            end
        end
        add("Host", set.host or proxy_host)
        add("Connection", set.connection or "close")
        for _, header in ipairs(set_headers) do
            local lower = header[1]:lower()
            if lower ~= "host" and lower ~= "connection" then add(header[1], header[2]) end
        end
        local skip = { host = true, connection = true, ["keep-alive"] = true, te = true, expect = true, upgrade = true,
                       ["transfer-encoding"] = true, ["content-length"] = true }
        if pass_headers then
            -- The request's headers as they are now (ngx.req.set_header/clear_header count).
            for name, value in pairs(req.get_headers(0, true)) do
                if not skip[name:lower()] and set[name:lower()] == nil then
                    if type(value) == "table" then
                        for _, each in ipairs(value) do add(name, each) end
                    else
                        add(name, value)
                    end
                end
            end
        end
        local body
        if pass_body then
            req.read_body()
            body = req.get_body_data()
            if not body then
                local file = req.get_body_file()
                if file then
                    local handle = io.open(file, "rb")
                    if handle then body = handle:read("*a") handle:close() end
                end
            end
        end
        if body then add("Content-Length", tostring(#body)) end
        lines[#lines + 1] = "\r\n"
        if body then lines[#lines + 1] = body end

        local state = package.loaded["cosocket.proxy"] or { next = 0 }
        package.loaded["cosocket.proxy"] = state
        state.next = state.next + 1
        local sock, err
        for attempt = 0, #candidates - 1 do
            local server = candidates[(state.next + attempt) % #candidates + 1]
            sock = ngx.socket.tcp()
            sock:settimeouts(timeouts[1], timeouts[2], timeouts[3])
            local ok
            if server:sub(1, 5) == "unix:" then
                ok, err = sock:connect(server)
            else
                local host, port = server:match("^%[(.+)%]:?(%d*)$")
                if not host then host, port = server:match("^([^:]+):?(%d*)$") end
                ok, err = sock:connect(host or server, tonumber(port) or 80)
            end
            if ok then break end
            -- The socket logged the failure (lua_socket_log_errors), as nginx logs it.
            sock = nil
        end
        if not sock then return ngx.exit(err == "timeout" and 504 or 502) end

        local ok, err = sock:send(lines)
        if not ok then sock:close() return fail(502, "send() failed (" .. err .. ") while sending request to upstream") end
        local line
        line, err = sock:receive("*l")
        local status = line and tonumber(line:match("^HTTP/%d%.%d (%d%d%d)"))
        if not status then
            sock:close()
            if err == "timeout" then return fail(504, "upstream timed out (110: Connection timed out) while reading response header from upstream") end
            return fail(502, "upstream prematurely closed connection while reading response header from upstream")
        end
        local headers, length, chunked = {}, nil, false
        while true do
            line, err = sock:receive("*l")
            if not line then sock:close() return fail(502, "upstream prematurely closed connection while reading response header from upstream") end
            if line == "" then break end
            local name, value = line:match("^([^:]+):%s*(.-)%s*$")
            if name then
                local lower = name:lower()
                if lower == "content-length" then
                    length = tonumber(value)
                elseif lower == "transfer-encoding" then
                    chunked = value:lower():find("chunked", 1, true) ~= nil
                elseif lower ~= "connection" and lower ~= "keep-alive" and lower ~= "date" and lower ~= "server" then
                    headers[#headers + 1] = { name, value }
                end
            end
        end
        -- A body cut short (the upstream closed or went quiet) fails the request after what
        -- came is written: a subrequest's result is then `truncated`, as nginx marks it.
        local parts, failed = {}, nil
        if req.get_method() == "HEAD" or status == 204 or status == 304 then
            -- no body
        elseif chunked then
            while true do
                line, err = sock:receive("*l")
                local size = line and tonumber(line:match("^%x+"), 16)
                if not size then failed = err or "closed" break end
                if size == 0 then break end
                local chunk, partial
                chunk, err, partial = sock:receive(size)
                if not chunk then parts[#parts + 1] = partial failed = err break end
                parts[#parts + 1] = chunk
                sock:receive("*l")
            end
        elseif length then
            if length > 0 then
                local data, partial
                data, err, partial = sock:receive(length)
                parts[1] = data or partial
                if not data then failed = err end
            end
        else
            local data, partial
            data, err, partial = sock:receive("*a")
            parts[1] = data or partial
            if not data then failed = err end
        end
        sock:close()
        ngx.status = status
        local merged = {}
        for _, header in ipairs(headers) do
            local name, value = header[1], header[2]
            local seen = merged[name:lower()]
            if seen then
                seen[#seen + 1] = value
                ngx.header[name] = seen
            else
                merged[name:lower()] = { value }
                ngx.header[name] = value
            end
        end
        local text = table.concat(parts)
        if failed == "timeout" and buffering then text = "" end
        if text ~= "" then ngx.print(text) end
        if failed then
            error(failed == "timeout" and "upstream timed out (110: Connection timed out) while reading upstream"
                or "upstream prematurely closed connection while reading upstream", 0)
        end
        """#
}
