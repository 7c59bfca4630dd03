import Foundation
import Testing
import FlockTestSupport
import FlockCore

/// An uncaught Flock error ends the program like an uncaught Python exception:
/// one line `error: <message>` on standard error, exit status 1, no crash
/// report. Each case runs this test binary again as a child process whose
/// `UncaughtErrorChild` suite fails on purpose.
@Suite struct UncaughtErrorTests {
    /// The child modes and what the child's standard error must hold.
    static let cases: [(mode: String, backtrace: Bool, line: String)] = [
        ("operation", false, "error: matmul: contracting dimensions differ: lhs [4, 3] dim 1 = 3, rhs [5, 2] dim 0 = 5"),
        ("thrown", false, "error: loadWeights: no file named 'missing.npy'"),
        ("operation", true, "error: matmul: contracting dimensions differ: lhs [4, 3] dim 1 = 3, rhs [5, 2] dim 0 = 5"),
    ]

    @Test(arguments: cases.indices)
    func uncaughtErrorPrintsOneLineAndExitsWithStatusOne(_ i: Int) throws {
        let (mode, backtrace, line) = Self.cases[i]
        let child = try runTestBinaryAsChild(
            filter: "UncaughtErrorChild",
            environment: ["FLOCK_TEST_UNCAUGHT_ERROR": mode, "FLOCK_BACKTRACE": backtrace ? "1" : "0"])
        let stderrText = child.standardError
        // The test library reports its progress on standard error too (lines
        // starting with its symbols); the program's own lines are the rest.
        let lines = stderrText.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let own = lines.filter { !["◇", "↳", "✔", "✘", "➜", "􀟈", "􀄵"].contains(where: $0.hasPrefix) }
        #expect(own.first == line, "child stderr: \(stderrText)")
        if backtrace {
            // Asked for: the runtime's crash report follows the line.
            #expect(child.reason == .uncaughtSignal, "status \(child.status)")
        } else {
            #expect(child.reason == .exit && child.status == 1,
                    "status \(child.status), reason \(child.reason.rawValue)")
            #expect(own.count == 1, "expected one line, child stderr: \(stderrText)")
        }
    }
}

/// Run only as the child of ``UncaughtErrorTests`` (which sets FLOCK_TEST_UNCAUGHT_ERROR).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["FLOCK_TEST_UNCAUGHT_ERROR"] != nil))
struct UncaughtErrorChild {
    @Test func failOnPurpose() {
        switch ProcessInfo.processInfo.environment["FLOCK_TEST_UNCAUGHT_ERROR"] {
        case "thrown":
            exitingOnError { throw FlockError("loadWeights: no file named 'missing.npy'") }
        default:
            _ = matmul(ones([4, 3]), ones([5, 2]))
        }
        Issue.record("the child should have exited")
    }
}
