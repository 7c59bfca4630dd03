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

    @OptionGroup var options: ClassifierOptions

    @Option(help: "Hidden layer sizes, comma-separated.")
    var hidden = "128,128"

    mutating func validate() throws {
        guard !hiddenSizes.isEmpty, hiddenSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--hidden must be positive sizes separated by commas, got '\(hidden)'")
        }
    }

    var hiddenSizes: [Int] { hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        try Distributed.initialize()
        let train = try Dataset(npz: options.data, features: "x_train", labels: "y_train", featureDType: .float32, labelDType: .int32)
        let test = try Dataset(npz: options.data, features: "x_test", labels: "y_test", featureDType: .float32, labelDType: .int32)
        let model = MLP(train.features.shape[1], hidden: hiddenSizes, 10, key: Random.key(options.training.seed))
        try trainClassifier(
            name: "train-mlp", model: model, logits: { m, x in m(x) },
            optimizer: .adam(learningRate: Schedule.constant(options.learningRate)), train: train, test: test,
            options: options, defaultSteps: 600)
    }
}
