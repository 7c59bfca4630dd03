import FlockCollectives
import FlockCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What a training run shows while it runs: on process 0 only, a line per
// report with loss, accuracy, throughput and the time left. On a terminal the
// line is a bar redrawn in place (carriage return + erase line); in a log
// file (not a tty) each report is its own plain line, so logs stay readable.
// Every recorded step is kept, for the CSV and SVG written at the end.

/// Progress of a training run: live bar or log lines, and the curves at the end.
///
/// ```swift
/// var progress = ProgressReporter(totalSteps: 1000, examplesPerStep: 128)
/// for step in 1...1000 {
///     let (loss, accuracy) = trainStep()
///     progress.record(step: step, loss: loss, accuracy: accuracy)
/// }
/// progress.finish()
/// try progress.writeCSV(to: "curves.csv")
/// try progress.writeSVG(to: "curves.svg")
/// ```
///
/// A terminal shows `[##########··········]  500/1000  loss 0.2101  acc 0.9375  12034 ex/s  ETA 0:04`
/// redrawn in place; a log gets `step 500/1000  loss 0.2101  acc 0.9375  12034 ex/s  ETA 0:04`
/// every `every` steps.
public struct ProgressReporter: Sendable {
    /// One recorded step.
    public struct Record: Sendable, Equatable {
        /// The step number.
        public var step: Int
        /// The training loss at this step.
        public var loss: Double
        /// The accuracy at this step, if measured.
        public var accuracy: Double?
        /// Seconds since the reporter started.
        public var elapsed: Double
    }

    /// Steps the run will take (for the bar and the ETA).
    public let totalSteps: Int
    /// Examples processed per step over the whole job (for examples/s).
    public let examplesPerStep: Int
    /// Print a plain line every this many steps (the bar redraws every step).
    public let every: Int
    /// Whether this process prints (by default, process 0 only).
    public let isEnabled: Bool
    /// Whether the output is a terminal: a bar redrawn in place instead of lines.
    public let isLive: Bool
    /// Every recorded step, in order.
    public private(set) var history: [Record] = []

    private let write: @Sendable (String) -> Void
    private let clock: @Sendable () -> Double
    private let start: Double
    private var lastDrawn = -1.0

    /// A reporter printing to standard error.
    ///
    /// - Parameters:
    ///   - totalSteps: Steps the run will take.
    ///   - examplesPerStep: Examples per step over all processes (the global batch size).
    ///   - every: Steps between plain log lines.
    ///   - isEnabled: Whether to print; default: only on process 0.
    ///   - isLive: Bar redrawn in place; default: whether standard error is a terminal.
    ///   - write: Where text goes (default standard error, unbuffered).
    ///   - clock: Seconds from a monotonic clock (tests pass their own).
    public init(
        totalSteps: Int, examplesPerStep: Int, every: Int = 10, isEnabled: Bool? = nil, isLive: Bool? = nil,
        write: (@Sendable (String) -> Void)? = nil, clock: (@Sendable () -> Double)? = nil
    ) {
        self.totalSteps = max(totalSteps, 0)
        self.examplesPerStep = max(examplesPerStep, 0)
        self.every = max(every, 1)
        self.isEnabled = isEnabled ?? (Distributed.processIndex == 0)
        self.isLive = isLive ?? (isatty(STDERR_FILENO) == 1)
        self.write = write ?? writeToStandardError
        self.clock = clock ?? monotonicSeconds
        start = self.clock()
    }

    /// Records a step and prints its progress when due.
    ///
    /// - Parameters:
    ///   - step: The step just completed, from 1 to ``totalSteps``.
    ///   - loss: Its training loss.
    ///   - accuracy: Its accuracy, if measured.
    public mutating func record(step: Int, loss: Double, accuracy: Double? = nil) {
        let now = clock() - start
        history.append(Record(step: step, loss: loss, accuracy: accuracy, elapsed: now))
        guard isEnabled else { return }
        if isLive {
            // Redraw at most ~20 times a second, and always at the last step.
            guard now - lastDrawn >= 0.05 || step >= totalSteps else { return }
            lastDrawn = now
            write("\r\u{1B}[2K" + bar(step: step) + "  " + status(step: step, loss: loss, accuracy: accuracy, elapsed: now))
        } else if step % every == 0 || step == totalSteps || step == 1 {
            write("step " + status(step: step, loss: loss, accuracy: accuracy, elapsed: now) + "\n")
        }
    }

    /// Prints a line of its own (an epoch summary, a test accuracy), below the bar when live.
    ///
    /// ```swift
    /// progress.log("epoch 3: test accuracy 0.9731")
    /// ```
    public func log(_ line: String) {
        guard isEnabled else { return }
        write(isLive ? "\r\u{1B}[2K" + line + "\n" : line + "\n")
    }

    /// Ends the bar (a newline on a terminal) and prints the totals.
    public mutating func finish() {
        guard isEnabled else { return }
        if isLive { write("\n") }
        let elapsed = clock() - start
        let steps = history.last?.step ?? 0
        var line = "done: \(steps) steps in \(progressDuration(elapsed))"
        if elapsed > 0 { line += ", \(Int((Double(steps * examplesPerStep) / elapsed).rounded())) examples/s" }
        if let last = history.last { line += ", final loss \(progressNumber(last.loss))" }
        write(line + "\n")
    }

    /// `12/100  loss 0.1234  acc 0.9876  5000 ex/s  ETA 1:05` (`acc` only when measured).
    func status(step: Int, loss: Double, accuracy: Double?, elapsed: Double) -> String {
        let width = String(totalSteps).count
        var s = String(repeating: " ", count: max(0, width - String(step).count)) + "\(step)/\(totalSteps)"
        s += "  loss \(progressNumber(loss))"
        if let accuracy { s += "  acc \(progressNumber(accuracy))" }
        if elapsed > 0, step > 0 {
            s += "  \(Int((Double(step * examplesPerStep) / elapsed).rounded())) ex/s"
            s += "  ETA " + progressDuration(elapsed / Double(step) * Double(max(0, totalSteps - step)))
        }
        return s
    }

    /// `[#####···············]`, 20 cells.
    func bar(step: Int) -> String {
        let cells = 20
        let filled = totalSteps > 0 ? min(cells, step * cells / totalSteps) : cells
        return "[" + String(repeating: "#", count: filled) + String(repeating: "·", count: cells - filled) + "]"
    }
}

/// A number with 4 decimals (`nan`, `inf` as such).
func progressNumber(_ x: Double) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
    let scaled = (abs(x) * 10_000).rounded()
    guard scaled < 1e15 else { return String(x) }
    let n = Int(scaled)
    let digits = String(n % 10_000)
    return (x < 0 && n > 0 ? "-" : "") + "\(n / 10_000)." + String(repeating: "0", count: 4 - digits.count) + digits
}

/// `m:ss`, or `h:mm:ss` from an hour.
func progressDuration(_ seconds: Double) -> String {
    let total = seconds.isFinite ? Int(seconds.rounded()) : 0
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    let ss = s < 10 ? "0\(s)" : "\(s)"
    if h > 0 { return "\(h):" + (m < 10 ? "0\(m)" : "\(m)") + ":" + ss }
    return "\(m):" + ss
}

/// Writes `text` to file descriptor 2 (unbuffered, so a bar shows at once).
@Sendable func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        bytes = bytes.dropFirst(n)
    }
}

/// Seconds from the monotonic clock.
@Sendable func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
