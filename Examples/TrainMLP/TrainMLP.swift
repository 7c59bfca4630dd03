// train-mlp: a multi-layer perceptron on the 8×8 handwritten digits, trained
// data-parallel over every rank and local device of the job with Adam.
//
//   swift run -c release train-mlp                       # one process
//   ./launch -n 2 train-mlp                              # 2 ranks
//   ./launch -n 2 --local-devices 2 train-mlp            # 2 ranks × 2 devices
//   ./launch -n 2 --max-restarts 3 train-mlp --checkpoint-dir /tmp/ckpt --checkpoint-every 50 --resume-if-possible
//
// Each step, every device takes its slice of the same global batch, computes
// the gradient of its mean loss, and the gradients are averaged over all
// devices with `pmean`: the parameters stay identical everywhere, and the
// result does not depend on how many ranks share the work.
import ArgumentParser
import FlockExampleSupport
import Flock
import Foundation

@main
struct TrainMLP: FlockExample {
    static let configuration = CommandConfiguration(
        commandName: "train-mlp",
        abstract: "Train an MLP on the 8×8 digits, data-parallel over every rank and device, with Adam.",
        discussion: """
            Prints progress on rank 0 and ends with `test accuracy: 0.9xxx`. Run it on several
            ranks with `./launch -n 2 train-mlp`; the global batch is split over all devices,
            so the same seed gives the same training whatever the number of ranks.
            """)

    @OptionGroup var training: TrainingOptions

    @Option(help: "The digits data set (.npz with x_train, y_train, x_test, y_test).")
    var data = "Examples/Data/digits.npz"

    @Option(help: "Hidden layer sizes, comma-separated.")
    var hidden = "128,128"

    @Option(help: "Adam's learning rate.")
    var learningRate = 3e-3

    @Flag(help: "Resume from the latest checkpoint in --checkpoint-dir when there is one (start afresh otherwise).")
    var resumeIfPossible = false

    @Option(help: "Fail (exit status 1) unless the test accuracy reaches this value.")
    var expectAccuracy: Double?

    @Option(help: ArgumentHelp("Fault injection for tests: the last rank exits with status 1 after this step on a job's first run (FLOCK_RESTART_COUNT 0).", visibility: .hidden))
    var failAtStep: Int?

    mutating func validate() throws {
        guard !hiddenSizes.isEmpty, hiddenSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--hidden must be positive sizes separated by commas, got '\(hidden)'")
        }
        if resumeIfPossible && training.checkpointDir == nil { throw ValidationError("--resume-if-possible needs --checkpoint-dir") }
    }

    var hiddenSizes: [Int] { hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        try Distributed.initialize()
        let train = try Dataset(npz: data, features: "x_train", labels: "y_train", featureDType: .float32, labelDType: .int32)
        let test = try Dataset(npz: data, features: "x_test", labels: "y_test", featureDType: .float32, labelDType: .int32)
        let model = MLP(train.features.shape[1], hidden: hiddenSizes, 10, key: Random.key(training.seed))
        try trainClassifier(
            name: "train-mlp", model: model, logits: { m, x in m(x) },
            optimizer: .adam(learningRate: Schedule.constant(learningRate)), train: train, test: test,
            options: training, defaultSteps: 600, resumeIfPossible: resumeIfPossible, failAtStep: failAtStep,
            expectAccuracy: expectAccuracy)
    }
}
