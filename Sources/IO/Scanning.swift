import FlockCore

// Small helpers the readers share: size arithmetic that cannot overflow
// silently, and decimal integers in header text.

/// Elements and bytes of an array of `shape` with `itemSize`-byte elements,
/// or nil when either overflows `Int` (a hostile header).
func checkedSizes(_ shape: [Int], itemSize: Int) -> (count: Int, bytes: Int)? {
    // numpy's rule (Core's `checkedElementCount`): a zero dimension does not
    // excuse the others, so `(0, 2^63-1)` is rejected as numpy rejects it.
    guard let count = checkedElementCount(shape, itemSize: itemSize) else { return nil }
    return (count, count * itemSize)
}

/// An optionally negative decimal integer starting at `position`, which moves
/// past it: the value, the number of digits read (0: none), and whether it overflowed.
func scanInteger(_ text: UnsafeRawBufferPointer, _ position: inout Int) -> (value: Int, digits: Int, overflow: Bool) {
    let negative = position < text.count && text[position] == UInt8(ascii: "-")
    if negative { position += 1 }
    var value = 0, digits = 0
    while position < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[position]) {
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(Int(text[position] - UInt8(ascii: "0")))
        if o1 || o2 { return (0, digits, true) }
        value = sum
        digits += 1
        position += 1
    }
    return (negative ? -value : value, digits, false)
}
