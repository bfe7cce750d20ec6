/// The condition of an `if (...)` block, as `ngx_http_rewrite_if_condition` reads it:
///
/// * `($var)`: true unless the value is empty or `0`;
/// * `($var = text)`, `($var != text)`: the text may name variables;
/// * `($var ~ re)`, `~*` (caseless), `!~`, `!~*`: a match sets `$1`.. and named captures;
/// * `(-f path)`, `-d`, `-e`, `-x` and their `!` forms: a file test (the path may name variables).
public struct RewriteCondition: Sendable {
    public enum FileTest: Sendable, Equatable {
        /// `-f`: a regular file; `-d`: a directory; `-e`: anything; `-x`: executable.
        case file, directory, exists, executable
    }

    enum Test: Sendable {
        case nonEmpty(variable: String)
        case equals(variable: String, text: String, negated: Bool)
        case matches(variable: String, regex: HostRegex, negated: Bool)
        case file(FileTest, path: String, negated: Bool)
    }

    let test: Test

    /// Reads the words after `if` (`($arg_x`, `=`, `a`, `)` for `if ($arg_x = "a")`).
    init(arguments: [String], file: String?, line: Int?) throws(ConfigError) {
        func invalid(_ word: String) -> ConfigError {
            ConfigError(.other("invalid condition \"\(word)\""), file: file, line: line)
        }
        var words = arguments
        guard let first = words.first, first.hasPrefix("(") else { throw invalid(arguments.first ?? "") }
        if first == "(" { words.removeFirst() } else { words[0] = String(first.dropFirst()) }
        guard let last = words.last, last.hasSuffix(")") else { throw invalid(words.last ?? "") }
        if last == ")" { words.removeLast() } else { words[words.count - 1] = String(last.dropLast()) }
        guard let operand = words.first else { throw invalid(")") }

        if operand.count > 1, operand.hasPrefix("$") {
            let variable = String(operand.dropFirst())
            switch words.count {
            case 1:
                test = .nonEmpty(variable: variable)
            case 3:
                let text = words[2]
                switch words[1] {
                case "=": test = .equals(variable: variable, text: text, negated: false)
                case "!=": test = .equals(variable: variable, text: text, negated: true)
                case "~", "~*", "!~", "!~*":
                    let op = words[1]
                    let regex = try HostRegex(text, caseless: op.hasSuffix("*"), file: file, line: line)
                    test = .matches(variable: variable, regex: regex, negated: op.hasPrefix("!"))
                default:
                    throw ConfigError(.other("unexpected \"\(words[1])\" in condition"), file: file, line: line)
                }
            default:
                throw invalid(operand)
            }
            return
        }
        let tests: [String: FileTest] = ["-f": .file, "-d": .directory, "-e": .exists, "-x": .executable]
        let negated = operand.hasPrefix("!")
        if words.count == 2, let fileTest = tests[negated ? String(operand.dropFirst()) : operand] {
            test = .file(fileTest, path: words[1], negated: negated)
            return
        }
        throw invalid(operand)
    }

    /// Whether the condition holds for a request whose variables `lookup` reads. A regex
    /// that matches replaces `captures`, as nginx's does.
    func holds(
        _ lookup: (String) -> String?,
        captures: inout LocationCaptures,
        fileTest: (FileTest, String) -> Bool
    ) -> Bool {
        switch test {
        case .nonEmpty(let variable):
            let value = lookup(variable) ?? ""
            return !(value.isEmpty || value == "0")
        case .equals(let variable, let text, let negated):
            return ((lookup(variable) ?? "") == VariableTemplate.expand(text, lookup)) != negated
        case .matches(let variable, let regex, let negated):
            guard let found = regex.match(lookup(variable) ?? "") else { return negated }
            if !negated { captures = captures.followed(by: found) }
            return !negated
        case .file(let kind, let path, let negated):
            return fileTest(kind, VariableTemplate.expand(path, lookup)) != negated
        }
    }
}
