/// echo-nginx-module's content directives (OpenResty bundles the module, Debian packages it,
/// and lua-nginx-module's test suite writes its helper locations with it), made into a Lua
/// content handler at load: each directive becomes the `ngx.*` call it amounts to, in the
/// configuration's order, so they run on the same phases, output and cosocket machinery as
/// `content_by_lua*`.
///
/// `echo [-n] [--] TEXT...`, `echo_duplicate N TEXT`, `echo_flush`, `echo_sleep S`,
/// `echo_blocking_sleep S`, `echo_reset_timer`, `echo_read_request_body`,
/// `echo_request_body`, `echo_location[_async] URI [ARGS]`,
/// `echo_subrequest[_async] METHOD URI [-q ARGS] [-b BODY] [-f PATH]`, `echo_exec URI [ARGS]`,
/// `echo_status CODE`, `echo_foreach_split DELIMITER TEXT` ... `echo_end`,
/// `echo_before_body TEXT...` and `echo_after_body TEXT...` (around this handler's output), and
/// the variables `$echo_it`, `$echo_timer_elapsed`, `$echo_request_body`, `$echo_request_method`,
/// `$echo_client_request_method`, `$echo_client_request_headers`, `$echo_request_uri`,
/// `$echo_cacheable_request_uri`, `$echo_incr` and `$echo_response_status` in their arguments.
enum EchoDirectives {
    static let names: Set<String> = [
        "echo", "echo_duplicate", "echo_flush", "echo_sleep", "echo_blocking_sleep", "echo_reset_timer",
        "echo_read_request_body", "echo_request_body", "echo_location", "echo_location_async", "echo_subrequest",
        "echo_subrequest_async", "echo_exec", "echo_status", "echo_foreach_split", "echo_end", "echo_before_body",
        "echo_after_body",
    ]

    /// The Lua of a location's echo directives (in order).
    static func lua(_ nodes: [ConfigNode]) throws(ConfigError) -> [UInt8] {
        var body = ""
        var before = ""
        var after = ""
        var status: String?
        var loops = 0
        for node in nodes {
            let arguments = node.arguments
            func count(_ range: ClosedRange<Int>) throws(ConfigError) {
                guard range.contains(arguments.count) else { throw node.error(.invalidArgumentCount(node.name)) }
            }
            switch node.name {
            case "echo", "echo_before_body", "echo_after_body":
                var texts = arguments[...]
                var newline = true
                // `-n` and `--` are options only before the text, as the module reads them.
                while let first = texts.first, first == "-n" || first == "--" {
                    texts = texts.dropFirst()
                    if first == "--" { break }
                    newline = false
                }
                let parts = texts.map { expression($0, loops: loops) } + (newline ? [literal("\n")] : [])
                let joined = interleave(parts, separator: literal(" "), keepingLast: newline)
                let line = joined.isEmpty ? "" : "ngx.print(\(joined))\n"
                switch node.name {
                case "echo_before_body": before += line
                case "echo_after_body": after += line
                default: body += line
                }
            case "echo_duplicate":
                try count(2...2)
                body += "ngx.print(string.rep(\(expression(arguments[1], loops: loops)), N(\(expression(arguments[0], loops: loops)))))\n"
            case "echo_flush":
                try count(0...0)
                body += "ngx.flush()\n"
            case "echo_sleep", "echo_blocking_sleep":
                try count(1...1)
                body += "ngx.sleep(N(\(expression(arguments[0], loops: loops))))\n"
            case "echo_reset_timer":
                try count(0...0)
                body += "ngx.update_time() started = ngx.now()\n"
            case "echo_read_request_body":
                try count(0...0)
                body += "ngx.req.read_body()\n"
            case "echo_request_body":
                try count(0...0)
                body += "ngx.print(body())\n"
            case "echo_location", "echo_location_async":
                try count(1...2)
                let args = arguments.count == 2 ? expression(arguments[1], loops: loops) : "nil"
                body += "ngx.print(ngx.location.capture(\(expression(arguments[0], loops: loops)), { args = \(args) }).body)\n"
            case "echo_subrequest", "echo_subrequest_async":
                guard arguments.count >= 2 else { throw node.error(.invalidArgumentCount(node.name)) }
                var options = "method = ngx.HTTP_\(arguments[0].uppercased())"
                var index = 2
                while index < arguments.count {
                    guard index + 1 < arguments.count, ["-q", "-b", "-f"].contains(arguments[index]) else {
                        throw node.error(.directive(name: node.name, message: "unknown option \"\(arguments[index])\""))
                    }
                    let value = expression(arguments[index + 1], loops: loops)
                    switch arguments[index] {
                    case "-q": options += ", args = \(value)"
                    case "-b": options += ", body = \(value)"
                    default: options += ", body = file(\(value))"
                    }
                    index += 2
                }
                body += "ngx.print(ngx.location.capture(\(expression(arguments[1], loops: loops)), { \(options) }).body)\n"
            case "echo_exec":
                try count(1...2)
                let args = arguments.count == 2 ? ", " + expression(arguments[1], loops: loops) : ""
                body += "do return ngx.exec(\(expression(arguments[0], loops: loops))\(args)) end\n"
            case "echo_status":
                try count(1...1)
                guard let code = Int(arguments[0]), (100...999).contains(code) else {
                    throw node.error(.directive(name: node.name, message: "invalid status code \"\(arguments[0])\""))
                }
                status = String(code)
            case "echo_foreach_split":
                try count(2...2)
                loops += 1
                body += "for _, it\(loops) in ipairs(split(\(expression(arguments[1], loops: loops - 1)), \(expression(arguments[0], loops: loops - 1)))) do\n"
            case "echo_end":
                try count(0...0)
                guard loops > 0 else { throw node.error(.other("echo_end without echo_foreach_split")) }
                loops -= 1
                body += "end\n"
            default:
                throw node.error(.directiveNotAllowedHere(node.name))
            }
        }
        if loops > 0, let last = nodes.last { throw last.error(.other("echo_foreach_split without echo_end")) }
        return Array((prelude + (status.map { "ngx.status = \($0)\n" } ?? "") + before + body + after).utf8)
    }

    /// The helpers the commands call: variables that read as empty when unset, numbers from
    /// text, the request body (memory or file), a file's bytes and a plain-text split.
    private static let prelude = """
        local ngx = ngx
        local started = ngx.req.start_time()
        local function V(name) local value = ngx.var[name] if value == nil then return "" end return tostring(value) end
        local function N(text) return tonumber(text) or 0 end
        local function file(path)
            local f = io.open(path, "rb") if not f then return "" end
            local data = f:read("*a") f:close() return data or ""
        end
        local function body()
            local data = ngx.req.get_body_data() if data then return data end
            local path = ngx.req.get_body_file() if path then return file(path) end
            return ""
        end
        local function split(text, delimiter)
            local items, start = {}, 1
            if delimiter == "" then items[1] = text return items end
            while true do
                local from, to = string.find(text, delimiter, start, true)
                local item = string.sub(text, start, from and from - 1 or nil)
                -- Empty items are skipped, as the module skips them.
                if item ~= "" then items[#items + 1] = item end
                if not from then break end
                start = to + 1
            end
            return items
        end
        local function elapsed() ngx.update_time() return string.format("%.3f", ngx.now() - started) end

        """

    /// `parts` joined by `separator`, the last part (the newline) joined without one.
    private static func interleave(_ parts: [String], separator: String, keepingLast newline: Bool) -> String {
        guard newline, parts.count > 1 else { return parts.joined(separator: " .. \(separator) .. ") }
        return parts.dropLast().joined(separator: " .. \(separator) .. ") + " .. " + parts[parts.count - 1]
    }

    /// A Lua expression for `text` with its nginx variables read at run time.
    static func expression(_ text: String, loops: Int) -> String {
        var parts: [String] = []
        VariableTemplate.scan(text, literal: { parts.append(literal(Array($0))) }, variable: { parts.append(variable($0, loops: loops)) })
        return parts.isEmpty ? "\"\"" : parts.joined(separator: " .. ")
    }

    private static func variable(_ name: String, loops: Int) -> String {
        switch name {
        case "echo_it": return loops > 0 ? "it\(loops)" : "\"\""
        case "echo_timer_elapsed": return "elapsed()"
        case "echo_request_body": return "body()"
        case "echo_request_method", "echo_client_request_method": return "ngx.req.get_method()"
        case "echo_client_request_headers": return "(ngx.req.raw_header() or \"\")"
        case "echo_request_uri": return "(ngx.var.uri .. (ngx.var.is_args or \"\") .. (ngx.var.args or \"\"))"
        case "echo_cacheable_request_uri": return "V(\"request_uri\")"
        // The module counts the main request and its subrequests; a request of its own is 1.
        case "echo_incr": return "\"1\""
        case "echo_response_status": return "tostring(ngx.status)"
        default:
            if let digit = Int(name) { return "V(\(digit))" }
            return "V(\(literal(name)))"
        }
    }

    static func literal(_ text: String) -> String { literal(Array(text.utf8)) }

    /// A Lua string literal for any bytes: `\ddd` escapes for quotes, backslashes and bytes
    /// outside printable ASCII.
    static func literal(_ bytes: [UInt8]) -> String {
        var out = "\""
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                // Three digits always: `\1` followed by a digit would read as another byte.
                let digits = String(byte)
                out += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        return out + "\""
    }
}
