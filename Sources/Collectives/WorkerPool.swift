#if canImport(Glibc)
import Glibc
#endif

/// Long-lived threads for the bodies `1..<n` of ``onThreadsWithContext(_:_:)``
/// (body 0 runs on the caller's thread), so that running a step on every local
/// device does not create threads each time (tens of µs per thread).
///
/// The pool runs one job at a time. A call that finds it busy — from another
/// thread, or from inside one of its own jobs — gets new threads instead, as
/// before; so does a job whose workers never finish (say, a collective that
/// waits forever): the pool stays busy and later calls go around it.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    private var mutex = pthread_mutex_t()
    /// Workers wait here for a new generation; the caller waits here for `remaining == 0`.
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    // Guarded by `mutex`:
    private var busy = false
    private var generation = 0
    private var job: (@Sendable (Int) -> Void)?
    private var jobSize = 0
    private var remaining = 0
    private var workers = 0

    private init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&done, nil)
    }

    /// Runs `body(0)` here and `body(1) … body(n − 1)` on the pool's threads,
    /// returning when all have finished; false (running nothing) when the pool is busy.
    func tryRun(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
        pthread_mutex_lock(&mutex)
        if busy {
            pthread_mutex_unlock(&mutex)
            return false
        }
        busy = true
        while workers < n - 1 {
            workers += 1
            startWorker(workers)
        }
        job = body
        jobSize = n
        remaining = n - 1
        generation += 1
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)

        body(0)

        pthread_mutex_lock(&mutex)
        while remaining > 0 { pthread_cond_wait(&done, &mutex) }
        job = nil
        busy = false
        pthread_mutex_unlock(&mutex)
        return true
    }

    private func startWorker(_ index: Int) {
        final class Start: @unchecked Sendable {
            let pool: WorkerPool, index: Int
            init(_ pool: WorkerPool, _ index: Int) { (self.pool, self.index) = (pool, index) }
        }
        var thread = pthread_t()
        let start = Unmanaged.passRetained(Start(self, index)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let s = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            s.pool.work(s.index)
            return nil
        }, start)
        precondition(rc == 0, "WorkerPool: pthread_create failed with \(rc)")
        pthread_detach(thread)
    }

    /// Worker `index`'s loop: run the body of every job that has that index.
    private func work(_ index: Int) -> Never {
        var seen = 0
        pthread_mutex_lock(&mutex)
        while true {
            while generation == seen { pthread_cond_wait(&wake, &mutex) }
            seen = generation
            guard index < jobSize, let body = job else { continue }
            pthread_mutex_unlock(&mutex)
            body(index)
            pthread_mutex_lock(&mutex)
            remaining -= 1
            if remaining == 0 { pthread_cond_signal(&done) }
        }
    }
}
