#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How long a member waits in a collective for the others before the job is
/// declared hung: `FLOCK_COLLECTIVE_TIMEOUT` seconds, default 600.
///
/// A rank may legitimately arrive late (one rank writes a checkpoint while the
/// others wait), so the default is generous; tests and interactive runs can
/// set a few seconds.
package enum CollectiveTimeout {
    /// ``Configuration/collectiveTimeout``.
    package static var seconds: Double { Configuration.collectiveTimeout }
}

/// A reusable meeting point for the `size` threads of an in-process group:
/// each member deposits a value and gets every member's value, in rank order.
///
/// Rounds are numbered; a member that runs ahead into the next round never
/// overwrites a round others are still reading. A member that waits longer
/// than the timeout breaks the rendezvous: it and every later call throw.
package final class Rendezvous<Value: Sendable>: @unchecked Sendable {
    /// The number of members that meet in each round.
    package let size: Int
    let timeout: Double
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    // State below is guarded by `mutex`.
    private var round = 0
    private var slots: [Value?]
    private var finished: [Int: (values: [Value], unread: Int)] = [:]
    private var failure: FlockError?

    /// A rendezvous of `size` members (at least 1), each waiting at most `timeout` seconds for the others.
    package init(size: Int, timeout: Double = CollectiveTimeout.seconds) {
        precondition(size >= 1, "Rendezvous: size must be at least 1, got \(size)")
        self.size = size
        self.timeout = timeout
        slots = Array(repeating: nil, count: size)
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        #if os(Linux)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(&condition, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Deposits `value` as member `rank` and returns every member's value.
    /// `what` names the operation in a timeout message.
    package func exchange(_ rank: Int, _ value: Value, what: @autoclosure () -> String) throws -> [Value] {
        if size == 1 { return [value] }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if let failure { throw failure }
        precondition(slots[rank] == nil, "Rendezvous: member \(rank) entered the same round twice")
        slots[rank] = value
        let mine = round
        if slots.allSatisfy({ $0 != nil }) {
            finished[mine] = (slots.map { $0! }, size)
            slots = Array(repeating: nil, count: size)
            round += 1
            pthread_cond_broadcast(&condition)
        } else {
            let deadline = monotonicDeadline(after: timeout)
            while round == mine && failure == nil {
                var d = deadline
                if pthread_cond_timedwait(&condition, &mutex, &d) == ETIMEDOUT && round == mine && failure == nil {
                    let missing = slots.indices.filter { slots[$0] == nil }
                    failure = FlockError(
                        "\(what()): member \(rank) waited \(Int(timeout)) s for members \(missing) of an in-process "
                            + "group, which did not reach this collective (every member must call the same collectives "
                            + "in the same order; FLOCK_COLLECTIVE_TIMEOUT sets the wait)")
                    pthread_cond_broadcast(&condition)
                }
            }
            if let failure, round == mine { throw failure }
        }
        var entry = finished[mine]!
        entry.unread -= 1
        finished[mine] = entry.unread == 0 ? nil : entry
        return entry.values
    }

    /// Breaks the rendezvous with `error`: waiting and later calls throw it.
    package func fail(_ error: FlockError) {
        pthread_mutex_lock(&mutex)
        if failure == nil { failure = error }
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}

private func monotonicDeadline(after seconds: Double) -> timespec {
    var now = timespec()
    #if os(Linux)
    clock_gettime(CLOCK_MONOTONIC, &now)
    #else
    clock_gettime(CLOCK_REALTIME, &now)
    #endif
    let total = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + seconds
    var t = timespec()
    t.tv_sec = Int(total)
    t.tv_nsec = Int((total - Double(Int(total))) * 1e9)
    return t
}
