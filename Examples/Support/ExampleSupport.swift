// What every Flock example shares: command-line handling that behaves well
// under `launch` (a mistake is one line on rank 0 and a non-zero exit on every
// rank), the options of a training run, and printing from rank 0.
import ArgumentParser
import Flock
import Foundation

/// A Flock example program: a swift-argument-parser command whose errors end
/// the program as Flock errors do — one line, `error: <message>`, printed by
/// rank 0 only for mistakes every rank makes alike (flags, files), exit
/// status 1 (64 for a usage error) on every rank, no crash report.
public protocol FlockExample: ParsableCommand {}

extension FlockExample {
    /// Parses the arguments and runs the command, reporting errors as described above.
    public static func main() {
        let rank = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"] ?? "0") ?? 0
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as FlockError {
            if rank == 0 { printError("error: \(error.message)") }
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {  // --help, --version: the text on standard output, status 0
                if rank == 0 { print(fullMessage(for: error)) }
                Foundation.exit(0)
            }
            if rank == 0 {
                let message = fullMessage(for: error)
                if !message.isEmpty { printError(message) }
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Prints `line` on standard error, unbuffered.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Prints on the process of rank 0 only (the others are silent).
public func printOnRank0(_ items: Any...) {
    guard Distributed.processIndex == 0 else { return }
    print(items.map { "\($0)" }.joined(separator: " "))
    FileHandle.standardOutput.synchronizeFile()
}

/// The options every training example takes.
public struct TrainingOptions: ParsableArguments {
    public init() {}

    @Option(help: "Training steps (default: the example's own).")
    public var steps: Int?

    @Option(help: "Examples per step over all ranks and devices (a multiple of the device count).")
    public var batchSize: Int?

    @Option(help: "Random seed for initialisation, shuffling and dropout.")
    public var seed: Int = 0

    @Option(help: "Save a checkpoint every N steps (0: only at the end when --checkpoint-dir is given).")
    public var checkpointEvery: Int = 0

    @Option(help: "Where checkpoints go (the last 3 are kept).")
    public var checkpointDir: String?

    @Flag(help: "Resume from the latest complete checkpoint in --checkpoint-dir (an error if there is none).")
    public var resume = false

    @Option(help: "Write the loss and accuracy curves (CSV and SVG) into this folder.")
    public var logDir: String?

    @Option(help: "Steps between progress lines in logs (a terminal gets a live bar).")
    public var logEvery: Int = 10

    public mutating func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if checkpointEvery < 0 { throw ValidationError("--checkpoint-every must be 0 or more, got \(checkpointEvery)") }
        if (resume || checkpointEvery > 0) && checkpointDir == nil {
            throw ValidationError("--resume and --checkpoint-every need --checkpoint-dir")
        }
        if logEvery < 1 { throw ValidationError("--log-every must be at least 1, got \(logEvery)") }
    }

    /// The checkpoint manager for `--checkpoint-dir`, if given.
    public func checkpointManager() throws -> CheckpointManager? {
        try checkpointDir.map { try CheckpointManager(directory: $0, keep: 3) }
    }

    /// Writes the curves to `--log-dir` (rank 0 only), naming the files `name.csv` and `name.svg`.
    public func writeCurves(_ progress: ProgressReporter, name: String, title: String) throws {
        guard let logDir, Distributed.processIndex == 0 else { return }
        try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        try progress.writeCSV(to: "\(logDir)/\(name).csv")
        try progress.writeSVG(to: "\(logDir)/\(name).svg", title: title)
        printOnRank0("curves: \(logDir)/\(name).csv, \(logDir)/\(name).svg")
    }
}
