import Dispatch
import Synchronization

/// How many threads Flock's eager kernels use for large arrays.
///
/// Defaults to the number of active processors; under MPI each rank should use
/// one (the `launch` script sets `FLOCK_NUM_THREADS=1`). Set it before doing work.
public enum FlockThreads {
    private static let storage = Atomic<Int>(initialCount())

    private static func initialCount() -> Int {
        if let s = getenvString("FLOCK_NUM_THREADS"), let n = Int(s), n >= 1 { return n }
        return max(1, ProcessInfoLite.activeProcessorCount)
    }

    /// The thread count used by kernels.
    public static var count: Int {
        get { storage.load(ordering: .relaxed) }
        set { storage.store(max(1, newValue), ordering: .relaxed) }
    }
}

/// Elements below which a one-operation kernel stays on the calling thread.
public let parallelThreshold = 1 << 17

/// Carries a value across a concurrency boundary the caller has made safe.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` over one contiguous chunk of `0..<n` per thread (on the calling
/// thread alone below `threshold` elements — ~128k by default, less for loops
/// doing more work per element — or with one thread). The body must be
/// `@Sendable`: kernels pass their pointers in `@unchecked Sendable` boxes.
@inline(__always)
public func forEachChunk(_ n: Int, threshold: Int = parallelThreshold, _ body: @Sendable (Int, Int) -> Void) {
    let threads = FlockThreads.count
    if n < threshold || threads == 1 {
        body(0, n)
        return
    }
    let chunk = ((n + threads - 1) / threads + 63) & ~63
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        let lo = t * chunk
        let hi = min(n, lo + chunk)
        if lo < hi { body(lo, hi) }
    }
}
