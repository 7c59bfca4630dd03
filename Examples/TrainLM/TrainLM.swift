// train-lm: a small character-level causal transformer (2 layers, 4 heads,
// d = 128) trained data-parallel over every rank and local device with AdamW,
// a warmup + cosine learning rate and global-norm clipping.
//
//   swift run -c release train-lm                        # one process, the GPL-3 text
//   ./launch -n 2 train-lm --sample-every 100            # 2 ranks, a sample every 100 steps
//   swift run -c release train-lm --data my.txt --context 128
//
// The default text, Examples/TrainLM/corpus.txt, is the GNU General Public
// License version 3 as Debian ships it (/usr/share/common-licenses/GPL-3): the
// licence's own text, which anyone may copy verbatim.
//
// Every step draws the start of each window of the global batch from a key
// folded with the step number, the same on every rank; each device trains on
// its rows and the gradients are averaged with `pmean`, so the training does
// not depend on how many ranks share the batch.
import ArgumentParser
import FlockExampleSupport
import Flock
import Foundation

@main
struct TrainLM: FlockExample {
    static let configuration = CommandConfiguration(
        commandName: "train-lm",
        abstract: "Train a character-level causal transformer on a text file, data-parallel, with AdamW.",
        discussion: """
            Prints progress and samples on rank 0 and ends with `final loss: …`, `validation loss: …`
            (on the last 10 % of the text, held out) and a sample of the trained model. The global batch
            is split over every rank and device: `./launch -n 2 train-lm` trains the same model as one process.
            """)

    @OptionGroup var training: TrainingOptions

    @Option(help: "The text to learn (UTF-8; one token per character). Default: the GPL-3's text.")
    var data = "Examples/TrainLM/corpus.txt"

    @Option(help: "Characters per training window (the model's longest context).")
    var context = 64

    @Option(help: "AdamW's peak learning rate (after a linear warmup, then cosine decay to a tenth).")
    var learningRate = 3e-3

    @Option(help: "Print a sample every N steps (0: only at the end).")
    var sampleEvery = 100

    @Option(help: "Characters per sample.")
    var sampleLength = 120

    @Option(help: "Sampling temperature (0: greedy, the most likely character each time).")
    var temperature = 0.8

    @Option(help: "The text the samples continue.")
    var prompt = "The "

    @Option(help: "Fail (exit status 1) unless the validation loss is below this value.")
    var expectLoss: Double?

    static let (features, heads, layers) = (128, 4, 2)

    mutating func validate() throws {
        if context < 1 { throw ValidationError("--context must be at least 1, got \(context)") }
        if sampleEvery < 0 { throw ValidationError("--sample-every must be 0 or more, got \(sampleEvery)") }
        if sampleLength < 0 { throw ValidationError("--sample-length must be 0 or more, got \(sampleLength)") }
        if temperature < 0 { throw ValidationError("--temperature must be 0 or more, got \(temperature)") }
        if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
    }

    func run() throws {
        try Distributed.initialize()
        let text = try CharacterText(contentsOf: data)
        // The last 10 % is held out; each part must hold at least one window of context + 1 characters.
        let split = text.ids.count - text.ids.count / 10
        guard text.ids.count / 10 >= context + 1 else {
            throw FlockError("train-lm: \(data) has \(text.ids.count) characters; with --context \(context) it needs at least "
                + "\(10 * (context + 1)) (the last 10 % is held out for validation and must hold a window of \(context + 1))")
        }
        let (trainIds, validationIds) = (text.ids[..<split], text.ids[split...])
        guard let promptIds = text.encode(prompt) else {
            throw FlockError("train-lm: --prompt '\(prompt)' has a character that \(data) does not")
        }
        let (processes, localDevices) = (Distributed.processCount, Distributed.localDeviceCount)
        let batchSize = training.batchSize ?? 32
        guard batchSize % (processes * localDevices) == 0 else {
            throw FlockError("train-lm: global batch size \(batchSize) is not divisible by the \(processes * localDevices) devices "
                + "(\(processes) processes × \(localDevices) local devices); use a multiple of \(processes * localDevices)")
        }
        let steps = training.steps ?? 300
        let perProcess = batchSize / processes

        let model = CharTransformer(
            vocabulary: text.vocabulary.count, context: context, features: Self.features, heads: Self.heads,
            layers: Self.layers, key: Random.key(training.seed))
        let warmup = max(1, min(100, steps / 10))
        let optimizer = GradientTransformation.chain(
            .clipByGlobalNorm(1),
            .adamw(learningRate: .warmupCosineDecay(initValue: 0, peakValue: learningRate, warmupSteps: warmup,
                                                   decaySteps: max(steps, warmup + 1), endValue: learningRate / 10),
                   weightDecay: 0.01))
        var state = ClassifierTrainState(model: model, optimizer: optimizer.initialize(model), step: Tensor(Int32(0)))
        let checkpoints = try training.checkpointManager()
        if training.resume {
            guard let checkpoints else { throw FlockError("train-lm: --resume needs --checkpoint-dir") }
            guard let (saved, restored) = try checkpoints.restoreLatest(like: state) else {
                throw FlockError("train-lm: --resume: no complete checkpoint in \(checkpoints.directory)")
            }
            state = restored
            printOnRank0("resumed from \(checkpoints.path(step: saved))")
        }
        let first = Int(state.step.item(Int32.self)) + 1
        printOnRank0("train-lm: \(processes) rank(s) × \(localDevices) device(s), global batch \(batchSize) × \(context) characters, "
            + "\(steps) steps, \(text.vocabulary.count) characters in the vocabulary, \(trainIds.count) to train on, "
            + "model \(model.parameterCount) parameters")

        let step = DataParallelStep(like: state, metricCount: 1) { s, inputs in
            let (loss, grads) = valueAndGrad { (m: CharTransformer) in
                softmaxCrossEntropy(logits: m(inputs[0]), integerLabels: inputs[1]).mean()
            }(s.model)
            let (updates, optimizerState) = optimizer.update(pmean(grads, axisName: dataParallelAxis), state: s.optimizer, params: s.model)
            return (ClassifierTrainState(model: applyUpdates(s.model, updates), optimizer: optimizerState, step: s.step + 1), [loss])
        }
        let sampler = Sampler(model: model, text: text)

        var progress = ProgressReporter(totalSteps: steps, examplesPerStep: batchSize * context, every: training.logEvery)
        let windowKey = Random.key(training.seed + 1), sampleKey = Random.key(training.seed + 2)
        let maxStart = Tensor(Int32(trainIds.count - context))
        // The windows of step `done` depend only on the seed and `done`, so a resumed run sees the same batches.
        for done in stride(from: first, through: steps, by: 1) {
            // The same starts on every rank; this rank takes its rows, split over its devices.
            let starts = Random.randint(Random.foldIn(windowKey, done), shape: [batchSize], minval: Tensor(Int32(0)), maxval: maxStart)
                .toArray(Int32.self).map(Int.init)
            let rank = Distributed.processIndex
            let batch = windows(of: trainIds, starts: Array(starts[rank * perProcess..<(rank + 1) * perProcess]), context: context)
            let perDevice = [localDevices, perProcess / localDevices, context]
            let metrics: [Tensor]
            (state, metrics) = try step(state, [batch.inputs.reshaped(perDevice), batch.targets.reshaped(perDevice)])
            progress.record(step: done, loss: Double(metrics[0].item(Float.self)))
            if let checkpoints, training.checkpointEvery > 0, done % training.checkpointEvery == 0 || done == steps {
                try checkpoints.save(state, step: done)  // collective: process 0 writes, every rank returns when it is complete
            }
            if sampleEvery > 0, done % sampleEvery == 0, done < steps, Distributed.processIndex == 0 {
                let sample = sampler.sample(state.model, prompt: promptIds, count: sampleLength, temperature: temperature,
                                            key: Random.foldIn(sampleKey, done))
                progress.log("sample after step \(done): \(sample.debugDescription)")
            }
        }
        progress.finish()
        if let checkpoints, training.checkpointEvery == 0, first <= steps { try checkpoints.save(state, step: steps) }
        try training.writeCurves(progress, name: "train-lm", title: "train-lm: \(data)")

        let validationStarts = Array(stride(from: 0, through: validationIds.count - context - 1, by: context))
        let validation = windows(of: validationIds, starts: validationStarts, context: context)
        let validationLoss = Double(softmaxCrossEntropy(logits: state.model(validation.inputs), integerLabels: validation.targets)
            .mean().item(Float.self))
        if let last = progress.history.last {
            printOnRank0("final loss: \(last.loss)")
            if last.elapsed > 0 { printOnRank0("tokens/s: \(Int((Double(steps * batchSize * context) / last.elapsed).rounded()))") }
        }
        printOnRank0(String(format: "validation loss: %.4f (%d windows of the last 10 %%)", validationLoss, validationStarts.count))
        if Distributed.processIndex == 0 {
            let sample = sampler.sample(state.model, prompt: promptIds, count: sampleLength, temperature: temperature,
                                        key: Random.foldIn(sampleKey, steps))
            printOnRank0("sample: \(sample.debugDescription)")
        }
        if let expectLoss, !(validationLoss < expectLoss) {
            throw FlockError("train-lm: validation loss \(String(format: "%.4f", validationLoss)) is not below the expected \(expectLoss)")
        }
    }
}
