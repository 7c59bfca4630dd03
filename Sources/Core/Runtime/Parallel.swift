import Dispatch
import Synchronization

/// How many threads Flock's eager kernels use for large arrays.
///
/// Defaults to the number of active processors; under MPI each rank should use
/// one (the `launch` script sets `FLOCK_NUM_THREADS=1`). Set it before doing work.
public enum FlockThreads {
    /// The thread count used by kernels (``Configuration/numThreads``).
    public static var count: Int {
        get { Configuration.numThreads }
        set { Configuration.numThreads = newValue }
    }
}

/// Elements below which a one-operation kernel stays on the calling thread.
package let parallelThreshold = 1 << 17

/// Carries a value across a concurrency boundary the caller has made safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` over contiguous chunks of `0..<n` on the worker threads (on the
/// calling thread alone below `threshold` elements — ~128k by default, less
/// for loops doing more work per element — or with one thread). The body must be
/// `@Sendable`: kernels pass their pointers in `@unchecked Sendable` boxes.
@inline(__always)
package func forEachChunk(_ n: Int, threshold: Int = parallelThreshold, _ body: @Sendable (Int, Int) -> Void) {
    let threads = FlockThreads.count
    if n < threshold || threads == 1 {
        body(0, n)
        return
    }
    // Four pieces per thread, taken dynamically by the workers: on a shared
    // machine a descheduled thread then delays a quarter of its share, not all
    // of it. Pieces aligned to 64 elements keep each writer on its own cache lines.
    let pieces = Swift.max(threads, Swift.min(4 * threads, n / 16384))
    let chunk = ((n + pieces - 1) / pieces + 63) & ~63
    // Worker threads take the caller's subnormal mode (SubnormalMode).
    let flushing = SubnormalMode.isFlushing
    DispatchQueue.concurrentPerform(iterations: (n + chunk - 1) / chunk) { t in
        let lo = t * chunk
        let hi = min(n, lo + chunk)
        if lo < hi { SubnormalMode.asCaller(flushing) { body(lo, hi) } }
    }
}
