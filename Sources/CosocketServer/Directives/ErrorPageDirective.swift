/// nginx's `error_page code ... [=[response]] uri`: which page answers a request that ends in
/// one of `codes` with nginx's own error response (`ngx.exit(404)`, `return 403`, a Lua
/// error's 500, a missing static file).
///
/// A target starting with `/` is an internal redirect (the method becomes GET, except HEAD);
/// one starting with `@` enters a named location; anything else is a redirect the client
/// follows (302 unless `=301`, `=303`, `=307` or `=308` says otherwise). A level with
/// `error_page`s of its own does not inherit the outer level's, as nginx merges them.
struct ErrorPage: Sendable {
    /// The status the response ends with.
    enum Status: Sendable, Equatable {
        /// No `=`: the original code, whatever the page's location sets.
        case original
        /// `=`: what the page's location answers with.
        case fromPage
        /// `=NNN`.
        case fixed(Int)
    }

    var codes: [Int]
    var status: Status
    /// A variable template when it has `$`; else the path without its arguments.
    var target: String
    /// The arguments after `?` in a target without variables.
    var args: String?
    var hasVariables: Bool

    static func parse(_ node: ConfigNode) throws(ConfigError) -> ErrorPage {
        let arguments = node.arguments
        guard arguments.count >= 2 else { throw node.error(.invalidArgumentCount(node.name)) }
        var status = Status.original
        var codeCount = arguments.count - 1
        let candidate = arguments[arguments.count - 2]
        if candidate.hasPrefix("=") {
            codeCount -= 1
            let digits = candidate.dropFirst()
            if digits.isEmpty {
                status = .fromPage
            } else if let code = Self.number(digits) {
                status = .fixed(code)
            } else {
                throw node.error(.other("invalid value \"\(candidate)\""))
            }
        }
        guard codeCount >= 1 else { throw node.error(.invalidArgumentCount(node.name)) }
        var codes: [Int] = []
        for text in arguments[0..<codeCount] {
            guard let code = Self.number(Substring(text)), code != 499 else { throw node.error(.other("invalid value \"\(text)\"")) }
            guard (300...599).contains(code) else { throw node.error(.other("value \"\(text)\" must be between 300 and 599")) }
            codes.append(code)
        }
        let uri = arguments[arguments.count - 1]
        let hasVariables = uri.contains("$")
        var page = ErrorPage(codes: codes, status: status, target: uri, args: nil, hasVariables: hasVariables)
        if !hasVariables, let question = uri.firstIndex(of: "?") {
            page.target = String(uri[..<question])
            page.args = String(uri[uri.index(after: question)...])
        }
        return page
    }

    /// nginx's `ngx_atoi`: digits only, no sign.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// Where the page is, for a request whose variables `lookup` reads.
    enum Destination: Equatable {
        case internalRedirect(path: String, args: String?)
        case named(String)
        case redirect(String)
    }

    func destination(_ lookup: (String) -> String?) -> Destination {
        var path = target
        var args = self.args
        if hasVariables {
            let uri = VariableTemplate.expand(target, lookup)
            if let question = uri.firstIndex(of: "?") {
                path = String(uri[..<question])
                args = String(uri[uri.index(after: question)...])
            } else {
                path = uri
                args = nil
            }
        }
        if path.hasPrefix("/") { return .internalRedirect(path: path, args: args) }
        if path.hasPrefix("@") { return .named(path) }
        return .redirect(args.map { "\(path)?\($0)" } ?? path)
    }

    /// The status of a client redirect: the `=` code when it is a redirect code, else 302.
    var redirectStatus: Int {
        if case .fixed(let code) = status, [301, 302, 303, 307, 308].contains(code) { return code }
        return 302
    }
}
