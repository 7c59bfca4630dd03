import Foundation

/// What a child run of this test binary left: its standard error and how it ended.
public struct ChildRun: Sendable {
    public let standardError: String
    public let reason: Process.TerminationReason
    public let status: Int32
}

/// Runs this test binary again as a child process with only the suites matching
/// `filter` and `environment` added to this process's: for tests of what ends a
/// program (an uncaught error, a global switch that must not touch the other tests).
public func runTestBinaryAsChild(filter: String, environment: [String: String]) throws -> ChildRun {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    child.arguments = ["--testing-library", "swift-testing", "--filter", filter]
    child.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let errors = Pipe(), output = Pipe()
    child.standardError = errors
    child.standardOutput = output
    try child.run()
    let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    _ = output.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    return ChildRun(standardError: text, reason: child.terminationReason, status: child.terminationStatus)
}
