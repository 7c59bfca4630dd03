import Foundation

/// Serialises the programs that run collectives across this process's devices.
///
/// The local devices of a process meet at one rendezvous per communicator, and
/// collectives pair by arrival order. Two multi-device programs started at once
/// from different threads (two `pmap` calls from concurrent tasks, say) would
/// therefore pair one program's `psum` with the other's, and both would get a
/// silently wrong sum. JAX runs such programs independently; Flock runs them
/// one after the other, which gives the same results. The lock is recursive:
/// a program may lay out its arguments (itself a collective) while holding it.
///
/// Across processes the order of collective programs is the program's own (as
/// in JAX's multi-controller model): every process must start them in the same
/// order, which a program issuing them from one thread does.
package enum CollectiveSection {
    private static let lock = NSRecursiveLock()

    /// Runs `body` while no other thread of this process runs a collective program.
    ///
    /// ```swift
    /// let sums = try CollectiveSection.run { try step(args) }
    /// ```
    package static func run<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
