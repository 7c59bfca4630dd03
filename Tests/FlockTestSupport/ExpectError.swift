import FlockCore
import Testing

/// Runs `body`, expecting a thrown ``FlockError`` whose message contains `fragment`.
///
/// ```swift
/// expectFlockError("not divisible by") { try DataLoader(data, globalBatchSize: 6, processCount: 4) }
/// ```
public func expectFlockError(
    _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any
) {
    do {
        _ = try body()
        Issue.record("expected an error containing \"\(fragment)\"", sourceLocation: sourceLocation)
    } catch let error as FlockError {
        #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a FlockError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body`, accepting a result or a thrown ``FlockError`` (any other error,
/// or a crash, fails): for damaged input that may or may not still decode.
public func expectValueOrFlockError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
    do { _ = try body() } catch is FlockError {} catch {
        Issue.record("expected a FlockError, got \(error)", sourceLocation: sourceLocation)
    }
}
