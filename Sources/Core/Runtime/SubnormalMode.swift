import CKernels

/// Flock's kernels run as XLA's do on CPU: with the SSE control register's
/// flush-to-zero (FTZ: a subnormal result becomes a zero of its sign) and
/// denormals-are-zero (DAZ: a subnormal operand reads as a zero of its sign)
/// bits set. So arithmetic, comparisons, reductions and the float functions
/// flush subnormals, as JAX does, while operations that only move bits
/// (negation and abs are sign-bit operations, select, reshapes, slices,
/// concatenation, gathers) keep them.
///
/// The mode is set around each eager operation and each run of a compiled
/// plan, on the calling thread and on the worker threads that run parts of
/// them (``forEachChunk(_:threshold:_:)`` and the other pools, through
/// ``asCaller(_:_:)``), and the caller's register is
/// restored after: the user's own Swift code never runs flushed. OpenBLAS's
/// own threads (a product above ``SmallBLAS/macs`` multiply-adds) keep
/// their mode, as Eigen's threads keep XLA's. The register is per thread and
/// setting it takes a few nanoseconds.
package enum SubnormalMode {
    /// FTZ (bit 15) and DAZ (bit 6) of MXCSR.
    private static let flushBits: UInt32 = 0x8040

    /// Whether the calling thread flushes subnormals now.
    @inline(__always) package static var isFlushing: Bool {
        flock_get_mxcsr() & flushBits == flushBits
    }

    /// Runs `body` with subnormals flushed on this thread, restoring the
    /// thread's mode after (nothing to do when it already flushes).
    @inline(__always)
    package static func flushing<R>(_ body: () throws -> R) rethrows -> R {
        let saved = flock_get_mxcsr()
        if saved & flushBits == flushBits { return try body() }
        flock_set_mxcsr(saved | flushBits)
        defer { flock_set_mxcsr(saved) }
        return try body()
    }

    /// Runs `body` on a worker thread in the mode its caller had
    /// (`callerFlushes`: ``isFlushing`` read on the calling thread before
    /// handing the work out; a pool thread has its own register).
    @inline(__always)
    package static func asCaller<R>(_ callerFlushes: Bool, _ body: () throws -> R) rethrows -> R {
        callerFlushes ? try flushing(body) : try body()
    }
}
