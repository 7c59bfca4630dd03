// Helpers shared by the test targets (a plain library target: it links into
// each test binary, including the ones scripts/run-tests runs under mpirun).

import FlockCore
import Testing

/// The FlockError message raised by `body` (caught with `catchingErrors`), or
/// nil when it raises none.
public func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try catchingErrors { try body() }
        return nil
    } catch let e as FlockError {
        return e.message
    } catch {
        return "\(error)"
    }
}

/// Expects `body` to raise a FlockError whose message mentions every fragment.
public func expectErrorMentions(
    _ fragments: [String], _ name: String = "", sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    let m = errorMessage(body)
    #expect(m != nil, "\(name): expected an error", sourceLocation: sourceLocation)
    for f in fragments {
        #expect(m?.contains(f) == true, "\(name): message \(m ?? "nil") should mention \(f)", sourceLocation: sourceLocation)
    }
}

/// A small seeded generator (SplitMix64), so test inputs are the same on every run.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An integer in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    /// A float in [-2, 2) on a grid of 2⁻²² (24 random bits).
    public mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 4 - 2 }

    /// A double in [0, 1) (53 random bits).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
