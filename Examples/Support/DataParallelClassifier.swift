// The training loop train-mlp and train-cnn share: a classifier trained
// data-parallel over every rank and local device with one optimiser, with
// checkpoints, progress, curves and a final test accuracy.
import Flock
import Foundation

/// What a checkpoint of an example classifier holds: the model, the optimiser's state and the step.
public struct ClassifierTrainState<Model: Module>: PyTreeStruct {
    public var model: Model
    public var optimizer: OptimizerState
    public var step: Tensor
    /// A state holding `model`, its optimiser's `optimizer` state and the `step` (an int32 scalar).
    public init(model: Model, optimizer: OptimizerState, step: Tensor) {
        (self.model, self.optimizer, self.step) = (model, optimizer, step)
    }
    public static var fields: [PyTreeField<ClassifierTrainState>] {
        [.init(\.model, "model"), .init(\.optimizer, "optimizer"), .init(\.step, "step")]
    }
}

/// Trains `model` on `train` and reports its accuracy on `test`.
///
/// Each step, every device takes its slice of the same global batch, computes
/// the gradient of its mean softmax cross-entropy, and the gradients are
/// averaged over all devices with `pmean` inside one `pmap`: the parameters
/// stay identical everywhere, and the result does not depend on how many
/// ranks share the work. Prints progress on rank 0 and ends with
/// `final loss: …`, `parameter digest: …` (a hash of every parameter's bits,
/// to compare runs bit for bit) and `test accuracy: 0.xxxx`.
///
/// - Parameters:
///   - name: The example's name, for messages and curve files.
///   - logits: The model applied to a batch of features.
///   - options: The command line's options. With `--resume-if-possible`, the
///     training resumes from the latest checkpoint when there is one; with
///     `--fail-at-step N` the last rank fails after step N on a job's first
///     run, as `FLOCK_TEST_FAULT` says: `error` (a Flock error, the default),
///     `exit0` or `exit1` (a plain `exit`), `crash` (a fatal error); with
///     `--expect-accuracy A` it throws unless the test accuracy reaches A.
///   - defaultSteps: Steps when `--steps` is not given.
public func trainClassifier<Model: Module>(
    name: String, model: Model, logits: @escaping (Model, Tensor) -> Tensor, optimizer: GradientTransformation,
    train: Dataset, test: Dataset, options classifierOptions: ClassifierOptions, defaultSteps: Int
) throws {
    let options = classifierOptions.training
    let (resumeIfPossible, failAtStep, expectAccuracy) =
        (classifierOptions.resumeIfPossible, classifierOptions.failAtStep, classifierOptions.expectAccuracy)
    let steps = options.steps ?? defaultSteps
    let loader = try DataLoader(
        train, globalBatchSize: options.batchSize ?? 128, shuffle: Random.key(options.seed + 1), remainder: .drop)
    var state = ClassifierTrainState(model: model, optimizer: optimizer.initialize(model), step: Tensor(Int32(0)))
    let checkpoints = try options.checkpointManager()
    if let checkpoints, options.resume || resumeIfPossible {
        if let (step, restored) = try checkpoints.restoreLatest(like: state) {
            state = restored
            printOnRank0("resumed from \(checkpoints.path(step: step))")
        } else if options.resume {
            throw FlockError("\(name): --resume: no complete checkpoint in \(checkpoints.directory)")
        }
    }
    printOnRank0("\(name): \(Distributed.processCount) rank(s) × \(Distributed.localDeviceCount) device(s), "
        + "global batch \(loader.globalBatchSize), \(steps) steps, model \(state.model.parameterCount) parameters")

    let step = DataParallelStep(like: state, metricCount: 2) { s, inputs in
        let (x, y) = (inputs[0], inputs[1])
        let (loss, grads) = valueAndGrad { (m: Model) in
            softmaxCrossEntropy(logits: logits(m, x), integerLabels: y).mean()
        }(s.model)
        let correct = accuracy(logits: logits(s.model, x), labels: y).mean()
        let (updates, optimizerState) = optimizer.update(pmean(grads, axisName: dataParallelAxis), state: s.optimizer, params: s.model)
        return (ClassifierTrainState(model: applyUpdates(s.model, updates), optimizer: optimizerState, step: s.step + 1), [loss, correct])
    }

    var progress = ProgressReporter(totalSteps: steps, examplesPerStep: loader.globalBatchSize, every: options.logEvery)
    var order: (epoch: Int, rows: [Int]) = (-1, [])
    var done = Int(state.step.item(Int32.self))
    while done < steps {
        let epoch = done / loader.batchesPerEpoch
        if order.epoch != epoch { order = (epoch, loader.order(epoch: epoch)) }
        let batch = loader.batch(done % loader.batchesPerEpoch, order: order.rows).splitForDevices()
        let metrics: [Tensor]
        (state, metrics) = try step(state, [batch.features, batch.labels])
        done += 1
        progress.record(step: done, loss: Double(metrics[0].item(Float.self)), accuracy: Double(metrics[1].item(Float.self)))
        if let checkpoints, options.checkpointEvery > 0, done % options.checkpointEvery == 0 || done == steps {
            try checkpoints.save(state, step: done)  // collective: process 0 writes, every rank returns when it is complete
        }
        if done == failAtStep, Distributed.processIndex == Distributed.processCount - 1,
           ProcessInfo.processInfo.environment["FLOCK_RESTART_COUNT"] ?? "0" == "0" {
            injectFault(name: name, step: done)
        }
    }
    progress.finish()
    if let checkpoints, options.checkpointEvery == 0 { try checkpoints.save(state, step: done) }
    try options.writeCurves(progress, name: name, title: "\(name): digits")

    let testAccuracy = Double(accuracy(logits: logits(state.model, test.features), labels: test.labels).mean().item(Float.self))
    if let last = progress.history.last { printOnRank0("final loss: \(last.loss)") }
    printOnRank0("parameter digest: \(parameterDigest(state.model))")
    printOnRank0(String(format: "test accuracy: %.4f", testAccuracy))
    if let expectAccuracy, testAccuracy < expectAccuracy {
        throw FlockError("\(name): test accuracy \(String(format: "%.4f", testAccuracy)) is below the expected \(expectAccuracy)")
    }
}

/// FNV-1a over the bits of every float32 parameter of `model`, in leaf order,
/// as 16 hex digits: equal digests mean bit-identical parameters (for the
/// determinism checks of scripts/run-tests).
func parameterDigest<Model: Module>(_ model: Model) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for leaf in treeLeaves(model) where leaf.dtype == .float32 {
        for v in leaf.toArray(Float.self) {
            var bits = v.bitPattern
            for _ in 0..<4 {
                h = (h ^ UInt64(bits & 0xFF)) &* 0x100_0000_01B3
                bits >>= 8
            }
        }
    }
    return String(h, radix: 16)
}

/// Ends this rank the way `FLOCK_TEST_FAULT` asks (scripts/reliability injects each kind).
private func injectFault(name: String, step: Int) -> Never {
    let kind = ProcessInfo.processInfo.environment["FLOCK_TEST_FAULT"] ?? "error"
    switch kind {
    case "exit0": exit(0)
    case "exit1": exit(1)
    case "crash": fatalError("\(name): injected crash after step \(step)")
    default: exitWithError(FlockError("\(name): injected failure after step \(step)"))
    }
}
