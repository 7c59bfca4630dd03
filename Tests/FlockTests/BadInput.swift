import Flock
import Testing

/// One mistake a user can make: what it is, the code that makes it, and the
/// fragment its ``FlockError`` message must hold (see ``BadInputSuiteTests``).
struct BadInput: Sendable, CustomTestStringConvertible {
    /// The part of the API (the docs table's first column).
    let area: String
    /// The mistake, in a few words.
    let mistake: String
    /// A fragment the message must contain.
    let expected: String
    /// Makes the mistake; the error is raised (inside `catchingErrors`) or thrown.
    let body: @Sendable () throws -> Void

    init(_ area: String, _ mistake: String, _ expected: String, _ body: @escaping @Sendable () throws -> Void) {
        self.area = area
        self.mistake = mistake
        self.expected = expected
        self.body = body
    }

    var testDescription: String { "\(area): \(mistake)" }

    /// Every case, by area.
    static let all: [BadInput] = core + indexing + random + transforms + jitCases + io + nn + optim + sharding + flags
}

/// A float32 array of `shape` holding 0, 1, 2, …
func iota(_ shape: [Int]) -> Tensor {
    Tensor((0..<shape.reduce(1, *)).map { Float($0) }, shape: shape)
}

/// A scratch folder for the file cases (fixed, so messages are the same on every run).
let scratch = "/tmp/flock-bad-input"
