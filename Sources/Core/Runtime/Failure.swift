#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

// How a Flock program ends on a user's mistake: like an uncaught Python
// exception — one line `error: <message>` on standard error and exit status 1 —
// not a crash report. `fatalError` stays for broken invariants (Flock's bugs).
// A backtrace is printed only when asked (`FLOCK_BACKTRACE=1`): then the
// program stops through `fatalError`, whose runtime report includes one.

/// Prints `error: <message>` once to standard error and exits the process with status 1.
///
/// This is what an uncaught ``FlockError`` does outside ``catchingErrors(_:)``.
/// In a multi-process job the line names the rank (`error: rank 1: …`), the
/// rank tells the others it is leaving, and the job ends with it.
/// With `FLOCK_BACKTRACE=1` in the environment, the program stops through
/// `fatalError` instead, so the runtime prints a backtrace.
///
/// - Parameter error: the error to report; a ``FlockError`` prints its message,
///   any other error its description.
public func exitWithError(_ error: any Error) -> Never {
    let message = (error as? FlockError)?.message ?? String(describing: error)
    ProgramFailure.exit(message: message)
}

/// Runs `body`; an error it throws ends the program as ``exitWithError(_:)`` does.
///
/// Top-level code in `main.swift` that would otherwise let an error escape
/// (which Swift reports as a crash) reads:
///
/// ```swift
/// import Flock
///
/// exitingOnError {
///     try Distributed.initialize()
///     let weights = try loadNPY("weights.npy")
///     print(weights.sum())
/// }
/// ```
///
/// Flock errors raised by operations in `body` (outside any inner
/// ``catchingErrors(_:)``) already end the program the same way.
public func exitingOnError<R>(_ body: () throws -> R) -> R {
    do {
        return try body()
    } catch {
        exitWithError(error)
    }
}

/// Async variant of ``exitingOnError(_:)``.
public func exitingOnError<R>(_ body: () async throws -> R) async -> R {
    do {
        return try await body()
    } catch {
        exitWithError(error)
    }
}

/// The process-wide hooks that shape how a failing program ends. Modules above
/// Core register theirs: the collectives add the rank to the message and
/// announce the departure to the other ranks without waiting for them.
package enum ProgramFailure {
    /// A prefix naming this process in a job of several (e.g. `rank 1: `), or nil.
    package static let processLabel = Mutex<(@Sendable () -> String?)?>(nil)
    /// Run once, after the message is printed and before the process exits.
    package static let beforeExit = Mutex<[@Sendable () -> Void]>([])
    /// Set by the first failure: a second one (from another thread) waits for the exit.
    private static let failing = Atomic<Bool>(false)

    /// Whether the environment asks for a backtrace (`FLOCK_BACKTRACE=1`).
    static var wantsBacktrace: Bool {
        guard let p = getenv("FLOCK_BACKTRACE") else { return false }
        let value = String(cString: p)
        return !value.isEmpty && value != "0"
    }

    /// Whether the process is ending through ``exit(message:)``.
    package static var isFailing: Bool { failing.load(ordering: .acquiring) }

    static func exit(message: String) -> Never {
        if failing.exchange(true, ordering: .acquiringAndReleasing) {
            // Another thread is already reporting: one message is enough.
            while true { sleep(60) }
        }
        let label = processLabel.withLock { $0 }?() ?? ""
        fflush(nil)  // flushes stdout: what the program printed comes before the error
        let line = Array("error: \(label)\(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if wantsBacktrace { fatalError(message) }
        for hook in beforeExit.withLock({ $0 }) { hook() }
        exitProcess(status: 1)
    }
}

/// `exit(3)` under a name that the static `ProgramFailure.exit(message:)` does not shadow.
private func exitProcess(status: Int32) -> Never { exit(status) }
