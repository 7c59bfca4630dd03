// The command-line options train-mlp and train-cnn share: the training
// options, the digits file, Adam's learning rate, and the options the tests
// and restarts use.
import ArgumentParser
import Flock

/// The options of an example that trains a digits classifier with ``trainClassifier(name:model:logits:optimizer:train:test:options:defaultSteps:)``.
///
/// ```swift
/// struct TrainMLP: FlockExample {
///     @OptionGroup var options: ClassifierOptions
///     func run() throws { … try trainClassifier(name: "train-mlp", …, options: options, defaultSteps: 600) }
/// }
/// ```
public struct ClassifierOptions: ParsableArguments {
    public init() {}

    @OptionGroup public var training: TrainingOptions

    @Option(help: "The digits data set (.npz with x_train, y_train, x_test, y_test).")
    public var data = "Examples/Data/digits.npz"

    @Option(help: "Adam's learning rate.")
    public var learningRate = 3e-3

    @Flag(help: "Resume from the latest checkpoint in --checkpoint-dir when there is one (start afresh otherwise).")
    public var resumeIfPossible = false

    @Option(help: "Fail (exit status 1) unless the test accuracy reaches this value.")
    public var expectAccuracy: Double?

    @Option(help: ArgumentHelp("Fault injection for tests: the last rank exits with status 1 after this step on a job's first run (FLOCK_RESTART_COUNT 0).", visibility: .hidden))
    public var failAtStep: Int?

    public mutating func validate() throws {
        if resumeIfPossible && training.checkpointDir == nil { throw ValidationError("--resume-if-possible needs --checkpoint-dir") }
    }
}
