/// nginx's `add_header NAME VALUE [always]` (headers module): added to responses with a status
/// of 200, 201, 204, 206, 301, 302, 303, 304, 307 or 308, or to every response with `always`;
/// a value is a variable template and adds nothing when it comes out empty. A level with
/// `add_header`s of its own does not inherit the outer level's, as nginx merges them.
struct AddedHeader: Sendable {
    var name: String
    var value: String
    var always: Bool

    private static let statuses: Set<Int> = [200, 201, 204, 206, 301, 302, 303, 304, 307, 308]

    func applies(to status: Int) -> Bool { always || Self.statuses.contains(status) }

    static func parse(_ node: ConfigNode) throws(ConfigError) -> AddedHeader {
        let arguments = node.arguments
        guard arguments.count == 2 || arguments.count == 3 else { throw node.error(.invalidArgumentCount(node.name)) }
        if arguments.count == 3 && arguments[2] != "always" {
            throw node.error(.directive(name: node.name, message: "invalid value \"\(arguments[2])\""))
        }
        return AddedHeader(name: arguments[0], value: arguments[1], always: arguments.count == 3)
    }
}
