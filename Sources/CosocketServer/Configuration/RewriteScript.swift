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
}

/// How a script run ended.
enum RewriteOutcome {
    /// The script ran to its end (or to a `break`): the phases go on.
    case proceed
    /// `return`: the response is this status and text.
    case respond(code: Int, text: String?)
    /// A `set_by_lua*` handler failed: the response is a 500, as in the reference.
    case failed
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
}

enum RewriteScript {
    /// Runs `steps` (and the blocks of the conditions that hold) against `host`.
    static func run(_ steps: [RewriteStep], on host: some RewriteScriptHost) -> RewriteOutcome {
        switch runSteps(steps, on: host) {
        case .next, .stopped: return .proceed
        case .ended(let outcome): return outcome
        }
    }

    private enum StepResult {
        case next, stopped
        case ended(RewriteOutcome)
    }

    private static func runSteps(_ steps: [RewriteStep], on host: some RewriteScriptHost) -> StepResult {
        for step in steps {
            switch step {
            case .set(let assignment):
                if !host.assign(assignment) { return .ended(.failed) }
            case .condition(let condition, let blockSteps, let location):
                var captures = host.captures
                let holds = condition.holds(host.scriptVariable, captures: &captures, fileTest: host.fileTest)
                host.captures = captures
                guard holds else { continue }
                if let location { host.enter(location) }
                let result = runSteps(blockSteps, on: host)
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
            case .respond, .stop: break
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
