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
        let classes = 10
        let steps = training.steps ?? 600
        let loader = try DataLoader(
            train, globalBatchSize: training.batchSize ?? 128, shuffle: Random.key(training.seed + 1), remainder: .drop)

        // The model and the optimiser, and the state a checkpoint holds.
        let model = MLP(train.features.shape[1], hidden: hiddenSizes, classes, key: Random.key(training.seed))
        let optimizer = GradientTransformation.adam(learningRate: Schedule.constant(learningRate))
        var state = TrainState(model: model, optimizer: optimizer.initialize(model), step: Tensor(Int32(0)))
        let checkpoints = try training.checkpointManager()
        if let checkpoints, training.resume || resumeIfPossible {
            if let (step, restored) = try checkpoints.restoreLatest(like: state) {
                state = restored
                printOnRank0("resumed from \(checkpoints.path(step: step))")
            } else if training.resume {
                throw FlockError("train-mlp: --resume: no complete checkpoint in \(checkpoints.directory)")
            }
        }
        printOnRank0("train-mlp: \(Distributed.processCount) rank(s) × \(Distributed.localDeviceCount) device(s), "
            + "global batch \(loader.globalBatchSize), \(steps) steps, model \(state.model.parameterCount) parameters")

        // One data-parallel step over flat leaves: the state is the same on
        // every device (unmapped), the batch is split over the devices.
        let template = state
        let stateCount = treeLeaves(state).count
        let step = pmap({ args -> [Tensor] in
            let s = treeUnflatten(like: template, Array(args[0..<stateCount]))
            let (x, y) = (args[stateCount], args[stateCount + 1])
            let (loss, grads) = valueAndGrad { (m: MLP) -> Tensor in crossEntropy(m(x), y, classes: classes) }(s.model)
            let correct = (s.model(x).argmax(axis: 1) .== y).converted(to: .float32).mean()
            let mean = pmean(grads, axisName: "data")
            let (updates, optimizerState) = optimizer.update(mean, state: s.optimizer, params: s.model)
            let next = TrainState(model: applyUpdates(s.model, updates), optimizer: optimizerState, step: s.step + 1)
            return treeLeaves(next) + [pmean(loss, axisName: "data"), pmean(correct, axisName: "data")]
        }, axisName: "data", inAxes: [Int?](repeating: nil, count: stateCount) + [0, 0],
           outAxes: [Int?](repeating: nil, count: stateCount + 2))

        var progress = ProgressReporter(totalSteps: steps, examplesPerStep: loader.globalBatchSize, every: training.logEvery)
        var order: (epoch: Int, rows: [Int]) = (-1, [])
        var done = Int(state.step.item(Int32.self))
        while done < steps {
            let epoch = done / loader.batchesPerEpoch
            if order.epoch != epoch { order = (epoch, loader.order(epoch: epoch)) }
            let batch = loader.batch(done % loader.batchesPerEpoch, order: order.rows).splitForDevices()
            let outs = try step.local(treeLeaves(state) + [batch.features, batch.labels])
            state = treeUnflatten(like: state, Array(outs[0..<stateCount]))
            done += 1
            progress.record(step: done, loss: Double(outs[stateCount].item(Float.self)),
                            accuracy: Double(outs[stateCount + 1].item(Float.self)))
            if let checkpoints, training.checkpointEvery > 0, done % training.checkpointEvery == 0 || done == steps {
                try checkpoints.save(state, step: done)  // collective: process 0 writes, every rank returns when it is complete
            }
            if done == failAtStep, Distributed.processIndex == Distributed.processCount - 1,
               ProcessInfo.processInfo.environment["FLOCK_RESTART_COUNT"] ?? "0" == "0" {
                exitWithError(FlockError("train-mlp: injected failure after step \(done)"))
            }
        }
        progress.finish()
        if let checkpoints, training.checkpointEvery == 0 { try checkpoints.save(state, step: done) }
        try training.writeCurves(progress, name: "train-mlp", title: "train-mlp: digits MLP")

        let logits = state.model(test.features)
        let accuracy = Double((logits.argmax(axis: 1) .== test.labels).converted(to: .float32).mean().item(Float.self))
        if let last = progress.history.last { printOnRank0("final loss: \(last.loss)") }
        printOnRank0(String(format: "test accuracy: %.4f", accuracy))
        if let expectAccuracy, accuracy < expectAccuracy {
            throw FlockError("train-mlp: test accuracy \(String(format: "%.4f", accuracy)) is below the expected \(expectAccuracy)")
        }
    }
}

/// What a checkpoint of train-mlp holds: the model, Adam's state and the step.
struct TrainState: PyTreeStruct {
    var model: MLP
    var optimizer: OptimizerState
    var step: Tensor
    static let fields: [PyTreeField<TrainState>] = [.init(\.model, "model"), .init(\.optimizer, "optimizer"), .init(\.step, "step")]
}

/// Mean softmax cross-entropy of `logits` [batch, classes] against integer labels.
func crossEntropy(_ logits: Tensor, _ labels: Tensor, classes: Int) -> Tensor {
    (logSumExp(logits, axes: [1]) - (logits * oneHot(labels, numClasses: classes)).sum(axes: [1])).mean()
}
