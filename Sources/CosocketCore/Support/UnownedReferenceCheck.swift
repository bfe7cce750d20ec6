/// The debug-build check behind every `unowned(unsafe)` reference of the engine: a safe
/// `unowned` shadow of the object, read on every read of the reference, so that using the
/// reference after its object went away stops at the runtime's check ("Attempted to read an
/// unowned reference but object ... was already deallocated") instead of reading freed memory.
/// (A safe unowned reference keeps the object's memory, not the object, until it is dropped.)
/// Release builds compile it to nothing (an empty struct, empty inline methods), keeping what
/// `unowned(unsafe)` is for: no reference counting on the path.
///
/// Each use keeps one beside its reference, ``track(_:)`` on every assignment and ``verify()``
/// on every read (see `StreamSocket.delegate` for the pattern).
public struct UnownedReferenceCheck: @unchecked Sendable {
    #if DEBUG
    private unowned var shadow: AnyObject?
    #endif

    @inline(__always) public init() {}

    /// Records the object the reference now names (nil clears it).
    @inline(__always) public mutating func track(_ object: AnyObject?) {
        #if DEBUG
        shadow = object
        #endif
    }

    /// Traps if the object named by the last ``track(_:)`` has been deallocated. Must come
    /// before the `unowned(unsafe)` reference is loaded (that load is itself the use of freed
    /// memory).
    @inline(__always) public func verify() {
        #if DEBUG
        if let object = shadow { withExtendedLifetime(object) {} }
        #endif
    }
}
