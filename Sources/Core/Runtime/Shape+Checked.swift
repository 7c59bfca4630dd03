#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Checked size arithmetic: the one place that decides whether a shape can
// exist and whether its array can be allocated.
//
// Every primitive's output shape passes through `validateShape` (from
// `Primitive.abstractEval`), so the kernels, the strides and the buffer sizes
// computed later with plain `*` cannot overflow. The rule is numpy's: every
// dimension is non-negative and the product of the non-zero dimensions times
// the item size fits in `Int` — a zero dimension does not make `(0, 2^63-1)`
// valid, because loops over the other dimensions would still spin.

/// The number of elements of `shape`, or nil when a dimension is negative or
/// the size (numpy's rule: non-zero dimensions times `itemSize` bytes) overflows `Int`.
package func checkedElementCount(_ shape: [Int], itemSize: Int = 1) -> Int? {
    var bytes = Swift.max(itemSize, 1), hasZero = false
    for d in shape {
        guard d >= 0 else { return nil }
        if d == 0 { hasZero = true; continue }
        let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        bytes = p
    }
    return hasZero ? 0 : bytes / Swift.max(itemSize, 1)
}

/// Throws unless `shape` is a valid shape for an array of `dtype`: non-negative
/// dimensions whose byte size fits in 64 bits.
///
/// - Parameter operation: the operation named in the error.
package func validateShape(_ shape: [Int], dtype: DType, operation: @autoclosure () -> String) throws {
    if shape.contains(where: { $0 < 0 }) {
        throw FlockError("\(operation()): negative dimensions are not allowed, got shape \(shape)")
    }
    if checkedElementCount(shape, itemSize: dtype.byteSize) == nil {
        throw FlockError(
            "\(operation()): shape \(shape) is too large: its size in bytes (\(dtype), \(dtype.byteSize) per element) overflows a 64-bit integer")
    }
}

/// `a + b`, `a * b` for shape rules, throwing `fail(what)` on overflow.
package func checkedAdd(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, _ fail: (String) -> FlockError) throws -> Int {
    let (r, o) = a.addingReportingOverflow(b)
    if o { throw fail("\(what()) overflows a 64-bit integer") }
    return r
}

package func checkedMultiply(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, _ fail: (String) -> FlockError) throws -> Int {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    if o { throw fail("\(what()) overflows a 64-bit integer") }
    return r
}

// MARK: - Allocation limits

/// Buffers at least this large are allocated once, as a probe, before the
/// kernel that fills them runs, so that the system refusing them is a
/// catchable error rather than a crash inside the kernel.
let allocationProbeBytes = 1 << 30

/// The most bytes one array may take: ``Configuration/maxAllocationBytes``,
/// or (when that is 0) the machine's memory plus swap, beyond which an
/// allocation can never be backed.
package var allocationLimitBytes: Int {
    let configured = Configuration.maxAllocationBytes
    return configured > 0 ? configured : systemMemoryBytes
}

/// Physical memory plus swap of this machine (`Int.max` when unknown).
package let systemMemoryBytes: Int = {
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, pageSize > 0 else { return Int.max }
    let (ram, o) = pages.multipliedReportingOverflow(by: pageSize)
    if o { return Int.max }
    return ram.addingReportingOverflow(swapBytes()).overflow ? Int.max : ram + swapBytes()
}()

/// `SwapTotal` of /proc/meminfo in bytes (0 where there is none).
private func swapBytes() -> Int {
    #if os(Linux)
    guard let f = fopen("/proc/meminfo", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), f) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("SwapTotal:") else { continue }
        let kib = Int(text.dropFirst(10).filter(\.isNumber)) ?? 0
        return kib.multipliedReportingOverflow(by: 1024).overflow ? 0 : kib * 1024
    }
    #endif
    return 0
}

/// Text of a byte count for errors: `274877906944 bytes (256.0 GiB)`.
package func describeBytes(_ bytes: Int) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes), unit = ""
    for u in units where value >= 1024 {
        value /= 1024
        unit = u
    }
    if unit.isEmpty { return "\(bytes) bytes" }
    return "\(bytes) bytes (\((value * 10).rounded() / 10) \(unit))"
}

/// Throws an out-of-memory error (JAX's `RESOURCE_EXHAUSTED`) naming the
/// operation and the size when an array of `aval` cannot be allocated: it is
/// larger than ``allocationLimitBytes``, or (for large arrays) the system
/// refuses a probe allocation of its size.
package func checkAllocation(_ aval: AbstractValue, operation: String) throws {
    // Shapes reaching here were validated, so the product cannot overflow.
    let bytes = aval.count &* aval.dtype.byteSize
    let limit = allocationLimitBytes
    if bytes > limit {
        let source = Configuration.maxAllocationBytes > 0
            ? "Configuration.maxAllocationBytes (FLOCK_MAX_ALLOCATION_BYTES)"
            : "this machine's memory and swap"
        throw FlockError(
            "\(operation): out of memory (RESOURCE_EXHAUSTED): cannot allocate \(describeBytes(bytes)) for \(aval); the limit is \(describeBytes(limit)), \(source)")
    }
    if bytes >= allocationProbeBytes {
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, bytes) == 0, let p = raw else {
            throw FlockError(
                "\(operation): out of memory (RESOURCE_EXHAUSTED): the system refused \(describeBytes(bytes)) for \(aval)")
        }
        free(p)
    }
}

/// Whether an array of `bytes` needs ``checkAllocation(_:operation:)``: the
/// cheap test (one relaxed load) that keeps small arrays off the slow path.
@inline(__always)
package func allocationNeedsCheck(bytes: Int) -> Bool {
    if bytes >= allocationProbeBytes { return true }
    let configured = Configuration.maxAllocationBytes
    return configured > 0 && bytes > configured
}

/// ``checkAllocation(_:operation:)`` for each of `avals` that needs it (cheap for small ones).
package func checkAllocations(_ avals: [AbstractValue], operation: @autoclosure () -> String) throws {
    for a in avals where allocationNeedsCheck(bytes: a.count &* a.dtype.byteSize) {
        try checkAllocation(a, operation: operation())
    }
}
