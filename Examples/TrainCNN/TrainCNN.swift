// train-cnn: a small convolutional network on the 8×8 handwritten digits
// (conv 3×3 → relu → max pool 2×2, twice, then a dense layer), trained
// data-parallel over every rank and local device of the job with Adam.
//
//   swift run -c release train-cnn                       # one process
//   ./launch -n 2 train-cnn                              # 2 ranks
//   ./launch -n 2 --local-devices 2 train-cnn            # 2 ranks × 2 devices
//
// The training loop is train-mlp's: each device takes its slice of the global
// batch, and the gradients are averaged over all devices with `pmean`.
import ArgumentParser
import FlockExampleSupport
import Flock
import Foundation

@main
struct TrainCNN: FlockExample {
    static let configuration = CommandConfiguration(
        commandName: "train-cnn",
        abstract: "Train a small CNN (conv + pooling) on the 8×8 digits, data-parallel over every rank and device, with Adam.",
        discussion: """
            Prints progress on rank 0 and ends with `test accuracy: 0.9xxx`. Run it on several
            ranks with `./launch -n 2 train-cnn`; the global batch is split over all devices,
            so the same seed gives the same training whatever the number of ranks.
            """)

    @OptionGroup var options: ClassifierOptions

    @Option(help: "Output features of the two convolutions, comma-separated.")
    var channels = "16,32"

    @Option(help: "The pooling after each convolution: max or avg.")
    var pool = "max"

    mutating func validate() throws {
        guard channelSizes.count == 2, channelSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--channels must be two positive sizes separated by a comma, got '\(channels)'")
        }
        guard pool == "max" || pool == "avg" else { throw ValidationError("--pool must be max or avg, got '\(pool)'") }
    }

    var channelSizes: [Int] { channels.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        try Distributed.initialize()
        // The flat 64-pixel rows as NHWC images [N, 8, 8, 1].
        let train0 = try Dataset(npz: options.data, features: "x_train", labels: "y_train", featureDType: .float32, labelDType: .int32)
        let test0 = try Dataset(npz: options.data, features: "x_test", labels: "y_test", featureDType: .float32, labelDType: .int32)
        let train = try images(train0)
        let test = try images(test0)
        let model = CNN(channels: channelSizes, classes: 10, maxPooling: pool == "max", key: Random.key(options.training.seed))
        try trainClassifier(
            name: "train-cnn", model: model, logits: { m, x in m(x) },
            optimizer: .adam(learningRate: Schedule.constant(options.learningRate)), train: train, test: test,
            options: options, defaultSteps: 500)
    }
}

/// conv 3×3 (SAME) → relu → pool 2×2, twice, then flatten → dense.
struct CNN: Layer, PyTreeStruct {
    var conv1: Conv
    var conv2: Conv
    var head: Linear
    let maxPooling: Bool
    static let fields: [PyTreeField<CNN>] = [.init(\.conv1, "conv1"), .init(\.conv2, "conv2"), .init(\.head, "head")]

    init(channels: [Int], classes: Int, maxPooling: Bool, key: PRNGKey) {
        var keys = KeyStream(key)
        conv1 = Conv(1, channels[0], kernelSize: [3, 3], keys: &keys)
        conv2 = Conv(channels[0], channels[1], kernelSize: [3, 3], keys: &keys)
        // 8×8 → 4×4 → 2×2 after the two poolings.
        head = Linear(2 * 2 * channels[1], classes, keys: &keys)
        self.maxPooling = maxPooling
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let pool: any Layer = maxPooling
            ? MaxPool(windowShape: [2, 2], strides: [2, 2]) : AvgPool(windowShape: [2, 2], strides: [2, 2])
        let h = pool(relu(conv2(pool(relu(conv1(x))))))
        return head(h.reshaped([h.shape[0], -1]))
    }
}

/// The digits' 64-pixel rows as 8×8 one-channel images.
func images(_ set: Dataset) throws -> Dataset {
    guard set.features.rank == 2, set.features.shape[1] == 64 else {
        throw FlockError("train-cnn: expected 8×8 digits as rows of 64 pixels, got features \(set.features.shape)")
    }
    return try Dataset(features: set.features.reshaped([set.features.shape[0], 8, 8, 1]), labels: set.labels)
}
