#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(0) … body(n − 1)` at once, each on its own new thread, and
/// returns when all have finished.
///
/// Members of a group block until every member arrives, so each needs a
/// thread of its own: a pool such as `DispatchQueue.concurrentPerform` runs
/// only as many at once as there are cores and would deadlock.
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Job: @unchecked Sendable {
        let body: @Sendable (Int) -> Void
        let index: Int
        init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) {
            self.body = body
            self.index = index
        }
    }
    var threads: [pthread_t] = []
    for i in 1..<max(n, 1) {
        var t = pthread_t()
        let job = Unmanaged.passRetained(Job(body, i)).toOpaque()
        let rc = pthread_create(&t, nil, { raw in
            let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            job.body(job.index)
            return nil
        }, job)
        precondition(rc == 0, "onThreads: pthread_create failed with \(rc)")
        threads.append(t)
    }
    if n >= 1 { body(0) }
    for t in threads { pthread_join(t, nil) }
}
