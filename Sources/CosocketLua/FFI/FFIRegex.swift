import CPCRE2

// resty/core/regex.lua and ngx/re.lua over ``CompiledRegex``: the matcher, templates and
// match context of our own `ngx.re` (lua-resty-core keeps its compiled-pattern cache in Lua).

/// `ngx_http_lua_complex_value_t`: a template; `lengths`/`values` are non-NULL (our template
/// box) when it refers to captures, else `value` is the literal replacement.
struct FFIComplexValue {
    var value: NgxStr
    var lengths: UnsafeMutableRawPointer?
    var values: UnsafeMutableRawPointer?
}

/// `ngx_http_lua_regex_t`, field for field. `pool` holds our ``FFIRegexBox``.
struct FFIRegexHandle {
    var pool: UnsafeMutableRawPointer?
    var nameTable: UnsafeMutablePointer<UInt8>?
    var nameCount: Int32
    var nameEntrySize: Int32
    var ncaptures: Int32
    var captures: UnsafeMutablePointer<Int32>?
    var regex: UnsafeMutableRawPointer?
    var regexSD: UnsafeMutableRawPointer?
    var replace: UnsafeMutablePointer<FFIComplexValue>?
    var pattern: UnsafePointer<CChar>?
}

/// What a handle owns: the compiled pattern and the C buffers resty.core reads.
final class FFIRegexBox {
    let regex: CompiledRegex
    /// `(ncaptures + 1) * 3` ints, as the reference sizes its ovector.
    let captures: UnsafeMutableBufferPointer<Int32>
    /// PCRE's name-table layout: 2-byte group number (big-endian), then the NUL-ended name.
    let nameTable: UnsafeMutableBufferPointer<UInt8>
    let nameEntrySize: Int
    var replace: UnsafeMutablePointer<FFIComplexValue>?
    var replaceData: UnsafeMutableBufferPointer<UInt8>?
    var template: FFITemplateBox?

    init(regex: CompiledRegex) {
        self.regex = regex
        captures = .allocate(capacity: (regex.captureCount + 1) * 3)
        captures.initialize(repeating: -1)
        nameEntrySize = (regex.names.map(\.name.count).max() ?? 0) + 3
        nameTable = .allocate(capacity: max(1, regex.names.count * nameEntrySize))
        nameTable.initialize(repeating: 0)
        for (index, entry) in regex.names.enumerated() {
            let base = index * nameEntrySize
            nameTable[base] = UInt8(truncatingIfNeeded: entry.group >> 8)
            nameTable[base + 1] = UInt8(truncatingIfNeeded: entry.group)
            for (offset, byte) in entry.name.enumerated() { nameTable[base + 2 + offset] = byte }
        }
    }

    deinit {
        captures.deallocate()
        nameTable.deallocate()
        replace?.deallocate()
        replaceData?.deallocate()
    }


    static func from(_ handle: UnsafeMutablePointer<FFIRegexHandle>?) -> FFIRegexBox? {
        guard let pointer = handle?.pointee.pool else { return nil }
        return Unmanaged<FFIRegexBox>.fromOpaque(pointer).takeUnretainedValue()
    }
}

/// What a match reads, behind the handle's `regex_sd` (a field resty.core never reads): the
/// pattern's ``RegexMatcher`` and the captures buffer, plain values, so that a match
/// touches no reference count. The ``FFIRegexBox`` keeps what they point to alive.
struct FFIRegexMatch {
    let matcher: RegexMatcher
    let captures: UnsafeMutablePointer<Int32>
}

/// A compiled template behind `lengths`/`values`, flattened for resty.core's gsub, which
/// asks for an expansion's length and then its bytes at every match: literal bytes in one
/// buffer and steps without references, so an expansion allocates and retains nothing.
final class FFITemplateBox {
    enum Step {
        case literal(start: Int, count: Int)
        case capture(group: Int)
    }

    let literals: UnsafeMutableBufferPointer<UInt8>
    let steps: UnsafeMutableBufferPointer<Step>
    let stepCount: Int

    init(_ template: RegexTemplate) {
        var bytes: [UInt8] = []
        var flat: [Step] = []
        for piece in template.pieces {
            switch piece {
            case .literal(let literal):
                flat.append(.literal(start: bytes.count, count: literal.count))
                bytes += literal
            case .capture(let group):
                flat.append(.capture(group: group))
            }
        }
        literals = .allocate(capacity: max(bytes.count, 1))
        _ = literals.initialize(from: bytes)
        steps = .allocate(capacity: max(flat.count, 1))
        _ = steps.initialize(from: flat)
        stepCount = flat.count
    }

    deinit {
        literals.deallocate()
        steps.deallocate()
    }
}

/// The script engine: the subject and match a template expands from.
final class FFIScriptEngine {
    var subject: UnsafePointer<UInt8>?
    /// The last match's offsets (PCRE2's ovector, which stays put for the pattern's life).
    var offsets: UnsafeMutablePointer<Int>?
    /// The groups a template may take from the match: those below its count that the
    /// pattern has.
    var groups = 0

    /// Expands `value`'s template for the current match into `destination` (when given) and
    /// returns its length. Groups at or past the match's count, or unset, expand to nothing.
    func expand(_ value: UnsafeMutableRawPointer?, into destination: UnsafeMutablePointer<UInt8>?) -> Int {
        guard let lengths = value?.assumingMemoryBound(to: FFIComplexValue.self).pointee.lengths else { return 0 }
        let template = Unmanaged<FFITemplateBox>.fromOpaque(lengths)
        return template._withUnsafeGuaranteedRef { template in
            var length = 0
            for index in 0..<template.stepCount {
                let source: UnsafePointer<UInt8>?
                let count: Int
                switch template.steps[index] {
                case .literal(let start, let literalCount):
                    source = UnsafePointer(template.literals.baseAddress.map { $0 + start })
                    count = literalCount
                case .capture(let group):
                    // PCRE2 reported these offsets within the subject of the last match.
                    guard group < self.groups, let subject = self.subject, let vector = self.offsets else { continue }
                    let start = vector[2 &* group], end = vector[2 &* group &+ 1]
                    guard start >= 0, end >= start else { continue }
                    source = subject + start
                    count = end - start
                }
                if let destination, let source { (destination + length).update(from: source, count: count) }
                length += count
            }
            return length
        }
    }
}

// MARK: - Exports

/// The reference's PCRE1 option bits (what resty.core passes) as ``RegexOptions``.
private func regexOptions(flags: Int32, pcreOptions: Int32) -> RegexOptions {
    var options = RegexOptions()
    options.dfa = flags & 0x02 != 0
    options.jit = flags & 0x04 != 0
    options.duplicateNames = flags & 0x08 != 0
    if flags & 0x10 != 0 {
        // `U`: as ``RegexOptions`` reads it, safe on invalid input.
        options.skipUTFCheck = true
        options.compileOptions |= PCRE2_MATCH_INVALID_UTF
    }
    let map: [(Int32, UInt32)] = [
        (0x0000001, PCRE2_CASELESS), (0x0000002, PCRE2_MULTILINE), (0x0000004, PCRE2_DOTALL),
        (0x0000008, PCRE2_EXTENDED), (0x0000010, PCRE2_ANCHORED), (0x0000800, PCRE2_UTF),
        (0x0080000, PCRE2_DUPNAMES),
        (0x2000000, PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_MATCH_UNSET_BACKREF),
    ]
    for (bit, option) in map where pcreOptions & bit != 0 { options.compileOptions |= option }
    return options
}

@_cdecl("ngx_http_lua_ffi_compile_regex")
public func ngx_http_lua_ffi_compile_regex(
    _ pattern: UnsafePointer<UInt8>?, _ length: Int, _ flags: Int32, _ pcreOptions: Int32,
    _ errorBuffer: UnsafeMutablePointer<UInt8>?, _ errorSize: Int
) -> UnsafeMutableRawPointer? {
    let options = regexOptions(flags: flags, pcreOptions: pcreOptions)
    switch CompiledRegex.compile(UnsafeRawBufferPointer(start: pattern, count: pattern == nil ? 0 : length), options: options) {
    case .failure(let error):
        ffiWriteMessage(error.bytes, to: errorBuffer, size: errorSize)
        return nil
    case .success(let regex):
        let box = FFIRegexBox(regex: regex)
        guard let captures = box.captures.baseAddress else { return nil }
        let match = UnsafeMutablePointer<FFIRegexMatch>.allocate(capacity: 1)
        match.initialize(to: FFIRegexMatch(matcher: regex.matcher, captures: captures))
        let handle = UnsafeMutablePointer<FFIRegexHandle>.allocate(capacity: 1)
        handle.initialize(to: FFIRegexHandle(
            pool: Unmanaged.passRetained(box).toOpaque(), nameTable: box.nameTable.baseAddress,
            nameCount: Int32(regex.names.count), nameEntrySize: Int32(box.nameEntrySize),
            ncaptures: Int32(regex.captureCount), captures: box.captures.baseAddress,
            regex: Unmanaged.passUnretained(regex).toOpaque(), regexSD: UnsafeMutableRawPointer(match), replace: nil,
            pattern: UnsafeRawPointer(pattern)?.assumingMemoryBound(to: CChar.self)
        ))
        return UnsafeMutableRawPointer(handle)
    }
}

@_cdecl("ngx_http_lua_ffi_exec_regex")
public func ngx_http_lua_ffi_exec_regex(
    _ handle: UnsafeMutableRawPointer?, _ flags: Int32, _ subject: UnsafePointer<UInt8>?, _ length: Int, _ position: Int32
) -> Int32 {
    guard let handle = handle?.assumingMemoryBound(to: FFIRegexHandle.self), handle.pointee.pool != nil,
          let match = handle.pointee.regexSD?.assumingMemoryBound(to: FFIRegexMatch.self) else { return RegexStatus.noMatch }
    let rc = match.pointee.matcher.match(
        UnsafeRawBufferPointer(start: subject, count: subject == nil ? 0 : max(length, 0)), from: Int(position), context: FFIWorker.currentMatchContext)
    if rc >= 0 { match.pointee.matcher.copyOffsets(into: match.pointee.captures) }
    return rc
}

@_cdecl("ngx_http_lua_ffi_destroy_regex")
public func ngx_http_lua_ffi_destroy_regex(_ handle: UnsafeMutableRawPointer?) {
    guard let handle = handle?.assumingMemoryBound(to: FFIRegexHandle.self), let pool = handle.pointee.pool else { return }
    handle.pointee.pool = nil
    if let match = handle.pointee.regexSD?.assumingMemoryBound(to: FFIRegexMatch.self) { match.deallocate() }
    handle.pointee.regexSD = nil
    Unmanaged<FFIRegexBox>.fromOpaque(pool).release()
    handle.deallocate()
}

@_cdecl("ngx_http_lua_ffi_compile_replace_template")
public func ngx_http_lua_ffi_compile_replace_template(
    _ handle: UnsafeMutableRawPointer?, _ data: UnsafePointer<UInt8>?, _ length: Int
) -> Int32 {
    let handle = handle?.assumingMemoryBound(to: FFIRegexHandle.self)
    guard let handle, let box = FFIRegexBox.from(handle) else { return FFIStatus.error }
    let source = UnsafeBufferPointer(start: data, count: data == nil ? 0 : length)
    let template: RegexTemplate
    switch RegexTemplate.compile(source) {
    case .success(let compiled): template = compiled
    case .failure(let failure):
        FFIWorker.current?.log(.error, failure.logMessage)
        return FFIStatus.error
    }
    let value = UnsafeMutablePointer<FFIComplexValue>.allocate(capacity: 1)
    let literal = template.pieces.allSatisfy { if case .literal = $0 { return true } else { return false } }
    if literal {
        let bytes = template.pieces.flatMap { piece -> [UInt8] in if case .literal(let bytes) = piece { return bytes } else { return [] } }
        let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, bytes.count))
        _ = copy.initialize(from: bytes)
        box.replaceData = copy
        value.initialize(to: FFIComplexValue(value: NgxStr(len: bytes.count, data: copy.baseAddress), lengths: nil, values: nil))
    } else {
        let templateBox = FFITemplateBox(template)
        box.template = templateBox
        let opaque = Unmanaged.passUnretained(templateBox).toOpaque()
        value.initialize(to: FFIComplexValue(value: NgxStr(len: 0, data: nil), lengths: opaque, values: opaque))
    }
    box.replace = value
    handle.pointee.replace = value
    return FFIStatus.ok
}

@_cdecl("ngx_http_lua_ffi_create_script_engine")
public func ngx_http_lua_ffi_create_script_engine() -> UnsafeMutableRawPointer? {
    Unmanaged.passRetained(FFIScriptEngine()).toOpaque()
}

@_cdecl("ngx_http_lua_ffi_init_script_engine")
public func ngx_http_lua_ffi_init_script_engine(
    _ engine: UnsafeMutableRawPointer?, _ subject: UnsafePointer<UInt8>?, _ handle: UnsafeMutableRawPointer?, _ count: Int32
) {
    guard let engine else { return }
    let script = Unmanaged<FFIScriptEngine>.fromOpaque(engine).takeUnretainedValue()
    script.subject = subject
    if let matcher = handle?.assumingMemoryBound(to: FFIRegexHandle.self).pointee.regexSD?
        .assumingMemoryBound(to: FFIRegexMatch.self).pointee.matcher {
        script.offsets = pcre2_get_ovector_pointer_8(matcher.matchData)
        script.groups = min(Int(count), matcher.captureCount + 1)
    } else {
        script.offsets = nil
        script.groups = 0
    }
}

@_cdecl("ngx_http_lua_ffi_destroy_script_engine")
public func ngx_http_lua_ffi_destroy_script_engine(_ engine: UnsafeMutableRawPointer?) {
    guard let engine else { return }
    Unmanaged<FFIScriptEngine>.fromOpaque(engine).release()
}

@_cdecl("ngx_http_lua_ffi_script_eval_len")
public func ngx_http_lua_ffi_script_eval_len(_ engine: UnsafeMutableRawPointer?, _ value: UnsafeMutableRawPointer?) -> Int {
    guard let engine else { return 0 }
    return Unmanaged<FFIScriptEngine>.fromOpaque(engine)._withUnsafeGuaranteedRef { $0.expand(value, into: nil) }
}

/// The expansion's bytes into `destination`, which resty.core sized with
/// ``ngx_http_lua_ffi_script_eval_len`` for the same match.
@_cdecl("ngx_http_lua_ffi_script_eval_data")
public func ngx_http_lua_ffi_script_eval_data(
    _ engine: UnsafeMutableRawPointer?, _ value: UnsafeMutableRawPointer?, _ destination: UnsafeMutablePointer<UInt8>?
) -> Int {
    guard let engine, let destination else { return 0 }
    return Unmanaged<FFIScriptEngine>.fromOpaque(engine)._withUnsafeGuaranteedRef { $0.expand(value, into: destination) }
}

@_cdecl("ngx_http_lua_ffi_max_regex_cache_size")
public func ngx_http_lua_ffi_max_regex_cache_size() -> UInt32 {
    UInt32(clamping: FFIWorker.current?.regexCacheMaxEntries ?? 0)
}

/// PCRE2's version string, e.g. `10.42 2022-12-11`.
nonisolated(unsafe) private let pcreVersion: UnsafeMutablePointer<CChar> = {
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 64)
    buffer.initialize(repeating: 0, count: 64)
    pcre2_config_8(UInt32(PCRE2_CONFIG_VERSION), buffer)
    return buffer
}()

@_cdecl("ngx_http_lua_ffi_pcre_version")
public func ngx_http_lua_ffi_pcre_version() -> UnsafePointer<CChar>? {
    UnsafePointer(pcreVersion)
}

@_cdecl("ngx_http_lua_ffi_set_jit_stack_size")
public func ngx_http_lua_ffi_set_jit_stack_size(
    _ size: Int32, _ errorBuffer: UnsafeMutablePointer<UInt8>?, _ errorSize: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let context = FFIWorker.current?.regexContext, context.setJITStackSize(Int(size)) else {
        let written = ffiWriteMessage("pcre jit stack allocation failed", to: errorBuffer, size: errorSize?.pointee ?? 0)
        errorSize?.pointee = written
        return FFIStatus.error
    }
    return FFIStatus.ok
}
