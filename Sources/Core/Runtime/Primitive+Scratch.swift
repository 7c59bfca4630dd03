#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Working memory of kernels, checked like results.
///
/// Results are checked against the allocation limit before a kernel runs
/// (``checkAllocations(_:operation:)``); some kernels also allocate working
/// memory that grows with the user's shapes — a sort's index permutations, a
/// long scan's padded copies, a gather's or scatter's index tables — which can
/// exceed memory while the result does not. ``Primitive/checkScratch(_:)``
/// turns that into the same catchable out-of-memory error. Scratch bounded by
/// a fixed budget (convolution's im2col tiles, reduction lanes) or by a
/// window's size is not counted.
extension Primitive {
    /// Bytes of working memory the kernel allocates for operands `x` beyond
    /// its results, when that grows with the shapes (0 for most primitives);
    /// `Int.max` when the count overflows.
    func scratchBytes(_ x: [DenseArray]) -> Int {
        func product(_ factors: [Int]) -> Int {
            var p = 1
            for f in factors {
                let (r, o) = p.multipliedReportingOverflow(by: f)
                if o { return Int.max }
                p = r
            }
            return p
        }
        let word = MemoryLayout<Int>.size
        switch self {
        case .sort(let dimension, _):
            // One line's order and merge sort's two working copies, as Ints
            // (nothing when the array is empty: the kernel sorts no line).
            guard let a = x.first, dimension < a.rank, a.count > 0 else { return 0 }
            return product([3, a.shape[dimension], word])
        case .cumsum(let axis, _):
            // A line longer than one row is scanned through padded and scanned copies.
            guard let a = x.first, axis < a.rank, a.count > 0, a.shape[axis] > 16 else { return 0 }
            let inner = product(Array(a.shape[(axis + 1)...]))
            return product([2 * (a.shape[axis] + 16) + 2 * (a.shape[axis] / 16 + 1), inner, a.dtype.byteSize])
        case .gather, .scatter:
            // The index vectors read as Ints, and two Ints per vector.
            guard x.count > 1 else { return 0 }
            let indices = x[1]
            let (total, o) = product([indices.count, word]).addingReportingOverflow(product([2, word] + indices.shape.dropLast()))
            return o ? Int.max : total
        default:
            return 0
        }
    }

    /// Throws the out-of-memory error when this primitive's working memory
    /// for `x` (``scratchBytes(_:)``) cannot be allocated: more than
    /// ``allocationLimitBytes``, or (for 1 GiB and more) refused by the system.
    @inline(__always)
    func checkScratch(_ x: [DenseArray]) throws {
        let bytes = scratchBytes(x)
        guard bytes > 0, allocationNeedsCheck(bytes: bytes) else { return }
        try checkScratchBytes(bytes, operation: name)
    }
}

/// The out-of-memory error for `bytes` of working memory of `operation`, if they cannot be allocated.
package func checkScratchBytes(_ bytes: Int, operation: String) throws {
    let limit = allocationLimitBytes
    if bytes > limit {
        let source = Configuration.maxAllocationBytes > 0
            ? "Configuration.maxAllocationBytes (FLOCK_MAX_ALLOCATION_BYTES)"
            : "this machine's memory and swap"
        let size = bytes == Int.max ? "more than \(describeBytes(Int.max))" : describeBytes(bytes)
        throw FlockError(
            "\(operation): out of memory (RESOURCE_EXHAUSTED): cannot allocate \(size) of working memory for its operands' shapes; the limit is \(describeBytes(limit)), \(source)")
    }
    if bytes >= allocationProbeBytes {
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, 64, bytes) == 0, let p = raw else {
            throw FlockError("\(operation): out of memory (RESOURCE_EXHAUSTED): the system refused \(describeBytes(bytes)) of working memory")
        }
        free(p)
    }
}
