extension String.UTF8View {
    /// `contains(where:)` over the string's contiguous bytes when it has them (native strings
    /// do): the generic walk of the view cost about 150 instructions for a short header name,
    /// several times per request.
    @inlinable
    public func containsByte(where predicate: (UInt8) -> Bool) -> Bool {
        if let found = withContiguousStorageIfAvailable({ $0.contains(where: predicate) }) { return found }
        return contains(where: predicate)
    }
}
