import Synchronization

/// An error raised by a Flock operation: bad shapes, dtypes, axes, indices, or
/// a traced value used where a concrete one is needed.
///
/// The message names the operation, the operands' shapes and what was expected,
/// e.g. `dotGeneral: contracting dimensions differ: lhs [4, 3] dim 1 = 3, rhs [5, 2] dim 0 = 5`.
///
/// Operations on ``Tensor`` do not throw, so that arithmetic reads like math.
/// Inside ``catchingErrors(_:)`` a failing operation records its error, returns a
/// poisoned placeholder, and the scope throws the first error when it ends.
/// Outside such a scope a failing operation stops the program with the same message.
public struct FlockError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The text of the error: the operation, what was wrong and what was expected.
    public let message: String
    /// An error with the given message, written `"op: what was wrong, the shapes, what was expected"`.
    public init(_ message: String) { self.message = message }
    /// The message, as printed: `error: <message>` when the error ends the program.
    public var description: String { message }
}

/// Runs `body` and throws the first ``FlockError`` raised by any Flock operation in it.
///
/// ```swift
/// do {
///     let y = try catchingErrors { matmul(a, b) }
/// } catch let error as FlockError {
///     print(error.message)  // "dotGeneral: contracting dimensions differ: ..."
/// }
/// ```
///
/// After the first error, later operations that consume a poisoned result are
/// skipped; values read from poisoned tensors (`item()`, `toArray`) are
/// placeholders and must not be used: the scope throws when it returns.
/// Scopes nest; errors go to the innermost one. Child tasks inherit the scope.
public func catchingErrors<R>(_ body: () throws -> R) throws -> R {
    let sink = ErrorSink()
    defer { sink.end() }
    let result: R
    do {
        result = try ErrorSink.$current.withValue(sink) { try body() }
    } catch {
        recordCaughtError(error)
        throw error
    }
    if let error = sink.first {
        recordCaughtError(error)
        throw error
    }
    return result
}

/// Async variant of ``catchingErrors(_:)``.
public func catchingErrors<R>(_ body: () async throws -> R) async throws -> R {
    let sink = ErrorSink()
    defer { sink.end() }
    let result: R
    do {
        result = try await ErrorSink.$current.withValue(sink) { try await body() }
    } catch {
        recordCaughtError(error)
        throw error
    }
    if let error = sink.first {
        recordCaughtError(error)
        throw error
    }
    return result
}

final class ErrorSink: Sendable {
    @TaskLocal static var current: ErrorSink?
    private let storage = Mutex<FlockError?>(nil)
    /// Whether an error was recorded (read by every collective: no lock).
    private let recorded = Atomic<Bool>(false)
    var first: FlockError? { storage.withLock { $0 } }
    var hasError: Bool { recorded.load(ordering: .acquiring) }
    func record(_ e: FlockError) {
        storage.withLock {
            if $0 == nil {
                $0 = e
                Self.scopesWithErrors.add(1, ordering: .releasing)
            }
        }
        recorded.store(true, ordering: .releasing)
    }

    /// Scopes (in any task) that have recorded an error and not ended yet.
    /// While there are none, no scope can have an error, and a collective
    /// skips looking its scope up (a task-local read on the latency path).
    /// A scope counts from its first error (counted before ``hasError``
    /// turns true) to its end; an error recorded after the end leaves the
    /// count one too high, which only costs that look-up.
    private static let scopesWithErrors = Atomic<Int>(0)

    /// Whether the current task's innermost scope has recorded an error.
    static var currentHasError: Bool {
        guard scopesWithErrors.load(ordering: .acquiring) > 0 else { return false }
        return current?.hasError ?? false
    }

    /// The scope is over: it no longer counts in ``scopesWithErrors``.
    func end() {
        storage.withLock { if $0 != nil { Self.scopesWithErrors.subtract(1, ordering: .relaxed) } }
    }
}

/// Reports an error from a non-throwing operation: recorded in the innermost
/// ``catchingErrors(_:)`` scope; outside of one it ends the program with
/// `error: <message>` and exit status 1 (``exitWithError(_:)``). Returns only when recorded.
package func raise(_ error: FlockError) {
    if let sink = ErrorSink.current {
        sink.record(error)
        return
    }
    exitWithError(error)
}
