/// nginx's `try_files file ... uri` and `try_files file ... =code` (server, location): before
/// the content phase, the first of `files` that exists under `root` (or `alias`) becomes the
/// request's URI and the location's content handler serves it; a name ending in `/` looks for
/// a directory. When none exists, the request goes on at `fallback`.
///
/// A server's `try_files` is for the requests no location matches: locations do not inherit
/// it, as nginx does not merge it.
struct TryFiles: Sendable {
    enum Fallback: Sendable, Equatable {
        /// `=code`: the request ends with that status (nginx's page for it, or an `error_page`).
        case status(Int)
        /// An internal redirect (`/uri?args`, a variable template) or a named location.
        case uri(String)
    }

    /// Variable templates.
    var files: [String]
    var fallback: Fallback

    static func parse(_ node: ConfigNode) throws(ConfigError) -> TryFiles {
        let arguments = node.arguments
        guard arguments.count >= 2, let last = arguments.last else { throw node.error(.invalidArgumentCount(node.name)) }
        var fallback = Fallback.uri(last)
        if last.hasPrefix("=") {
            let digits = last.dropFirst()
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let code = Int(digits) else {
                throw node.error(.other("invalid code \"\(last)\""))
            }
            fallback = .status(code)
        }
        return TryFiles(files: Array(arguments.dropLast()), fallback: fallback)
    }
}
