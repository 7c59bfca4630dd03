import Synchronization

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

/// Runs `body(0) … body(n − 1)` at once, each on its own thread (`body(0)` on
/// the caller's, the others on long-lived ``WorkerPool`` threads), and returns
/// their results in order. Each thread starts with
/// the caller's named axes and interpreter (new threads do not inherit
/// task-locals); an error is rethrown after every thread has finished (the
/// first by index).
///
/// ```swift
/// let squares = onThreadsWithContext(4) { i in i * i }   // [0, 1, 4, 9]
/// ```
package func onThreadsWithContext<R: Sendable, E: Error>(_ n: Int, _ body: @Sendable (Int) throws(E) -> R) throws(E) -> [R] {
    if n == 1 { return [try body(0)] }
    let results = Mutex<[Int: Result<R, E>]>([:])
    let frames = AxisEnvironment.frames
    let interpreter = InterpreterContext.current
    withoutActuallyEscaping(body) { body in
        let body = UncheckedBox(body)
        let job = { @Sendable (i: Int) in
            let r = AxisEnvironment.$frames.withValue(frames) {
                withInterpreter(interpreter) { Result<R, E> { () throws(E) -> R in try body.value(i) } }
            }
            results.withLock { $0[i] = r }
        }
        // Long-lived threads when the pool is free; new ones otherwise (e.g. nested calls).
        if !WorkerPool.shared.tryRun(n, job) { onThreads(n, job) }
    }
    var out: [R] = []
    for i in 0..<n { out.append(try results.withLock { $0[i]! }.get()) }
    return out
}
