/// headers-more-nginx-module's directives (OpenResty bundles the module, Debian packages it,
/// and lua-nginx-module's own test suite leans on `more_clear_headers Date`):
///
///     more_set_headers [-s 'CODE ...']... [-t 'TYPE ...']... 'Name: value' ...
///     more_clear_headers [-s ...]... [-t ...]... Name Prefix* ...
///     more_set_input_headers [-r] [-t 'TYPE ...']... 'Name: value' ...
///     more_clear_input_headers [-t ...]... Name ...
///
/// in http, server, location and location if. An inner level's edits run after the outer
/// level's, as the module merges them. Values take nginx variables; an empty value clears.
struct HeaderEdit: Sendable {
    /// The header's name; with `isPrefix`, every header whose name starts with it (`X-*`).
    var name: String
    var isPrefix = false
    /// The new value (a variable template), or nil to clear.
    var value: String?
    /// `-s`: the statuses it applies to (output only); empty for all.
    var statuses: Set<Int> = []
    /// `-t`: the content types it applies to (the response's for output, the request's for
    /// input), compared without parameters and case; empty for all.
    var types: [String] = []
    /// `-r` (input): set only a header that is already there.
    var replaceOnly = false

    /// Whether the edit applies to a response with `status` and `type`, or (`status` nil) to
    /// a request whose `Content-Type` is `type`. A response's type is compared without its
    /// parameters (nginx keeps the charset apart); a request's header whole, as the module does.
    func applies(status: Int?, type: String?) -> Bool {
        if let status, !statuses.isEmpty, !statuses.contains(status) { return false }
        guard !types.isEmpty else { return true }
        guard let type else { return false }
        let compared = status == nil ? type : type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces() } ?? ""
        return types.contains { HTTPResponseHead.sameName($0, compared) }
    }

    /// Whether `header` is one this edit names.
    func names(_ header: String) -> Bool {
        guard isPrefix else { return HTTPResponseHead.sameName(header, name) }
        return HTTPResponseHead.sameName(String(decoding: header.utf8.prefix(name.utf8.count), as: UTF8.self), name)
    }
}

enum HeadersMoreDirectives {
    static let names: Set<String> = ["more_set_headers", "more_clear_headers", "more_set_input_headers", "more_clear_input_headers"]

    /// Whether the directive edits the request's headers (else the response's).
    static func isInput(_ name: String) -> Bool { name.hasSuffix("_input_headers") }

    static func parse(_ node: ConfigNode) throws(ConfigError) -> [HeaderEdit] {
        let clears = node.name.hasPrefix("more_clear")
        let input = isInput(node.name)
        var statuses: Set<Int> = []
        var types: [String] = []
        var replaceOnly = false
        var headers: [String] = []
        var index = 0
        let arguments = node.arguments
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-s" where !input, "-t":
                guard index + 1 < arguments.count else {
                    throw node.error(.directive(name: node.name, message: "option \(argument) takes an argument"))
                }
                let list = arguments[index + 1].split(separator: " ").map(String.init)
                if argument == "-t" {
                    types += list
                } else {
                    for code in list {
                        guard let status = Int(code), (100...999).contains(status) else {
                            throw node.error(.directive(name: node.name, message: "invalid status code \"\(code)\""))
                        }
                        statuses.insert(status)
                    }
                }
                index += 2
            case "-r" where input:
                replaceOnly = true
                index += 1
            default:
                if argument.hasPrefix("-") && argument.count > 1 && headers.isEmpty {
                    throw node.error(.directive(name: node.name, message: "invalid option \"\(argument)\""))
                }
                headers.append(argument)
                index += 1
            }
        }
        guard !headers.isEmpty else { throw node.error(.invalidArgumentCount(node.name)) }
        return try headers.map { (header) throws(ConfigError) -> HeaderEdit in
            var edit = HeaderEdit(name: header, statuses: statuses, types: types, replaceOnly: replaceOnly)
            if !clears, let colon = header.firstIndex(of: ":") {
                edit.name = String(header[..<colon]).trimmingSpaces()
                let value = String(header[header.index(after: colon)...]).trimmingSpaces()
                edit.value = value.isEmpty ? nil : value
            } else {
                edit.name = header.trimmingSpaces()
            }
            if clears, edit.name.hasSuffix("*") {
                edit.name.removeLast()
                edit.isPrefix = true
            }
            guard !edit.name.isEmpty || edit.isPrefix else {
                throw node.error(.directive(name: node.name, message: "invalid header \"\(header)\""))
            }
            return edit
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
