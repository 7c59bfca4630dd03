import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's thread count, shared by the whole process.
///
/// Flock runs some products on one BLAS thread: those under
/// ``SmallBLAS/macs`` and the gemms of a convolution's parallel items (the
/// items carry the parallelism). The count is process-wide — the Debian
/// OpenBLAS here (0.3.21, pthreads) has no per-thread setter
/// (`openblas_set_num_threads_local` came with 0.3.27) — so changing it
/// races with other threads' BLAS calls: a multithreaded gemm in flight
/// while another thread sets the count to 1 (or restores it), and two
/// multithreaded gemms from different threads sharing OpenBLAS's one pool of
/// worker threads. So:
///
/// - the first of any concurrent single-threaded regions sets the count to 1
///   and the last restores it (``enter()``/``leave()``), but only while no
///   multithreaded call is in flight;
/// - a call that may use OpenBLAS's threads (``threaded(_:)``) runs alone:
///   no count change and no other multithreaded call meanwhile. While a
///   single-threaded region is active the count is 1, and such a call runs
///   at once on one thread (OpenBLAS reads the count once, on entry).
///
/// Single-threaded calls need no exclusion: OpenBLAS allocates each call's
/// buffers under its own lock.
enum SingleThreadedBLAS {
    private static let monitor = Monitor()

    /// Starts a region whose BLAS calls run on one thread (waits for a
    /// multithreaded call in flight to end).
    static func enter() { monitor.enter() }

    /// Ends a region started by ``enter()``.
    static func leave() { monitor.leave() }

    /// Runs `body`, whose BLAS calls may use OpenBLAS's threads, with the
    /// count fixed and no other multithreaded call at the same time.
    static func threaded<R>(_ body: () throws -> R) rethrows -> R {
        guard monitor.beginThreaded() else { return try body() }
        defer { monitor.endThreaded() }
        return try body()
    }

    /// The count's owner: a pthread mutex and condition (waits last as long
    /// as one gemm, so they sleep instead of spinning).
    private final class Monitor: @unchecked Sendable {
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        /// Active single-threaded regions, the count they found, and whether a multithreaded call is in flight.
        private var depth = 0, saved: Int32 = 1, threadedInFlight = false

        init() {
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(changed, nil)
        }

        func enter() {
            pthread_mutex_lock(mutex)
            while threadedInFlight { pthread_cond_wait(changed, mutex) }
            if depth == 0 {
                saved = openblas_get_num_threads()
                openblas_set_num_threads(1)
            }
            depth += 1
            pthread_mutex_unlock(mutex)
        }

        func leave() {
            pthread_mutex_lock(mutex)
            depth -= 1
            if depth == 0 { openblas_set_num_threads(saved) }
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }

        /// Whether the caller must call ``endThreaded()`` after its call:
        /// false when the call runs on one thread anyway (a region is
        /// active, or the count is 1), true once the call owns OpenBLAS's threads.
        func beginThreaded() -> Bool {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while true {
                if depth > 0 || openblas_get_num_threads() <= 1 { return false }
                if !threadedInFlight { break }
                pthread_cond_wait(changed, mutex)
            }
            threadedInFlight = true
            return true
        }

        func endThreaded() {
            pthread_mutex_lock(mutex)
            threadedInFlight = false
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
    }
}
