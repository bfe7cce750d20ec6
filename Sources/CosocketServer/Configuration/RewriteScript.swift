/// One directive of the rewrite module's script (`set`, `set_by_lua*`, `if`, `return`,
/// `break`), in the order the configuration writes them: nginx compiles a level's directives
/// into one code array and runs it in the rewrite phase, before `rewrite_by_lua*`.
public enum RewriteStep: Sendable {
    /// `set $name value` or `set_by_lua* $name`.
    case set(VariableAssignment)
    /// `if (condition) { ... }`: when the condition holds, the block's steps run, and in a
    /// location the request takes the block's settings (the enclosing location's, merged
    /// with what the block sets).
    case condition(RewriteCondition, steps: [RewriteStep], location: Location?)
    /// `return code [text]`, `return URL`.
    case respond(code: Int, text: String?)
    /// `break`: the rest of the script is skipped.
    case stop
    /// `rewrite regex replacement [flag]`.
    case rewrite(URIRewrite)
}

/// `rewrite regex replacement [last|break|redirect|permanent]`: when `regex` matches the URI,
/// the replacement (its `$1`.. this regex's captures) becomes the URI and, after a `?`, the
/// arguments; a replacement that starts with `http://`, `https://` or `$scheme`, or the
/// `redirect`/`permanent` flags, answer with a redirect instead.
public struct URIRewrite: Sendable {
    public enum Flag: String, Sendable {
        case none, last, `break`, redirect, permanent
    }

    let regex: HostRegex
    let replacement: String
    let flag: Flag

    /// What a matching rewrite does with its expanded replacement and the request's arguments.
    enum Effect: Equatable {
        /// The URI (and, when the replacement had a `?`, the arguments) change.
        case internalRewrite(path: String, args: String?)
        case redirect(code: Int, location: String)
    }

    /// The effect of `expanded` (the replacement with its variables filled in), nginx's way:
    /// the request's arguments follow the replacement's own (after a `&`), unless the
    /// replacement ends with `?`, which drops them.
    func effect(of expanded: String, requestArgs: String?) -> Effect {
        let external = ["http://", "https://"].contains { expanded.hasPrefix($0) } || replacement.hasPrefix("$scheme")
        var path = expanded
        var args: String?
        if let question = expanded.firstIndex(of: "?") {
            path = String(expanded[..<question])
            let own = String(expanded[expanded.index(after: question)...])
            if own.isEmpty {
                args = ""
            } else if let requestArgs, !requestArgs.isEmpty {
                args = own + "&" + requestArgs
            } else {
                args = own
            }
        }
        if external || flag == .redirect || flag == .permanent {
            let code = flag == .permanent ? 301 : 302
            let query = args ?? requestArgs ?? ""
            return .redirect(code: code, location: query.isEmpty ? path : path + "?" + query)
        }
        return .internalRewrite(path: path, args: args)
    }
}

/// How a script run ended.
enum RewriteOutcome {
    /// The script ran to its end (or to a `break`): the phases go on.
    case proceed
    /// `return`: the response is this status and text.
    case respond(code: Int, text: String?)
    /// A `set_by_lua*` handler failed: the response is a 500, as in the reference.
    case failed
    /// A `rewrite` redirect: the response is `code` with this `Location`.
    case redirect(code: Int, location: String)
    /// A `rewrite` changed the URI (`last`, or no flag by the script's end): the request
    /// looks for its location again.
    case jump
}

/// What a script run needs from its request.
protocol RewriteScriptHost: AnyObject {
    /// `$name` in a condition or value, `$1`.. included.
    func scriptVariable(_ name: String) -> String?
    /// Runs one `set`/`set_by_lua*`; `false` when its handler failed.
    func assign(_ assignment: VariableAssignment) -> Bool
    var captures: LocationCaptures { get set }
    /// An `if` block of the request's location matched: the request takes its settings.
    func enter(_ location: Location)
    func fileTest(_ test: RewriteCondition.FileTest, _ path: String) -> Bool
    /// `$uri` as the script sees it.
    var scriptPath: String { get }
    /// `$args`, `nil` when there are none.
    var scriptArgs: String? { get }
    /// A `rewrite` changed the URI, and the arguments when given.
    func rewriteURI(path: String, args: String?)
}

enum RewriteScript {
    /// Runs `steps` (and the blocks of the conditions that hold) against `host`.
    static func run(_ steps: [RewriteStep], on host: some RewriteScriptHost) -> RewriteOutcome {
        var changed = false
        switch runSteps(steps, on: host, changed: &changed) {
        case .next, .stopped: return changed ? .jump : .proceed
        case .ended(let outcome): return outcome
        }
    }

    private enum StepResult {
        case next, stopped
        case ended(RewriteOutcome)
    }

    /// `changed`: a rewrite without a flag changed the URI (the location is looked up again
    /// once the script ends, unless a `break` ends it first).
    private static func runSteps(_ steps: [RewriteStep], on host: some RewriteScriptHost, changed: inout Bool) -> StepResult {
        for step in steps {
            switch step {
            case .rewrite(let rewrite):
                guard let found = rewrite.regex.match(host.scriptPath) else { continue }
                host.captures = found
                let expanded = VariableTemplate.expand(rewrite.replacement, host.scriptVariable)
                switch rewrite.effect(of: expanded, requestArgs: host.scriptArgs) {
                case .redirect(let code, let location):
                    return .ended(.redirect(code: code, location: location))
                case .internalRewrite(let path, let args):
                    host.rewriteURI(path: path, args: args)
                    switch rewrite.flag {
                    case .last: return .ended(.jump)
                    case .break:
                        // The new URI stays in this location (nginx clears `uri_changed`).
                        changed = false
                        return .stopped
                    default: changed = true
                    }
                }
            case .set(let assignment):
                if !host.assign(assignment) { return .ended(.failed) }
            case .condition(let condition, let blockSteps, let location):
                var captures = host.captures
                let holds = condition.holds(host.scriptVariable, captures: &captures, fileTest: host.fileTest)
                host.captures = captures
                guard holds else { continue }
                if let location { host.enter(location) }
                let result = runSteps(blockSteps, on: host, changed: &changed)
                if case .next = result { continue }
                return result
            case .respond(let code, let text):
                return .ended(.respond(code: code, text: text))
            case .stop:
                return .stopped
            }
        }
        return .next
    }

    /// The names `steps` set, blocks included: nginx declares a `set` variable for the whole
    /// configuration, whether or not the request reaches it (it reads as empty until then).
    static func variableNames(of steps: [RewriteStep]) -> [String] {
        var names: [String] = []
        for step in steps {
            switch step {
            case .set(let assignment): names.append(assignment.name)
            case .condition(_, let blockSteps, _): names.append(contentsOf: variableNames(of: blockSteps))
            case .respond, .stop, .rewrite: break
            }
        }
        return names
    }

    /// The value each variable has before any step runs, when `steps` are constant `set`s
    /// only (no condition, no `return`, no Lua, no `$` in a value): then the script need not
    /// run per request. `nil` otherwise.
    static func constantValues(of steps: [RewriteStep]) -> [(String, String)]? {
        var values: [(String, String)] = []
        for step in steps {
            guard case .set(let assignment) = step, assignment.lua == nil, !assignment.value.contains("$") else { return nil }
            values.append((assignment.name, assignment.value))
        }
        return values
    }
}
