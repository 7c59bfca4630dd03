// train-lm: a small character-level causal transformer (2 layers, 4 heads,
// d = 128) trained data-parallel over every rank and local device with AdamW,
// a warmup + cosine learning rate and global-norm clipping; with
// --model-parallel M, on a data × model mesh with each block's heads and MLP
// split over M devices (Megatron.swift).
//
//   swift run -c release train-lm                        # one process, the GPL-3 text
//   ./launch -n 2 train-lm --sample-every 100            # 2 ranks, a sample every 100 steps
//   ./launch -n 4 train-lm --model-parallel 2            # a 2 × 2 mesh: batch over "data", blocks over "model"
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
            With `--model-parallel M`, each block's attention heads and MLP are split over M devices
            (Megatron's column/row split) and the batch over the others.
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

    @Option(help: "Split each block's attention heads and MLP over this many devices (Megatron's column/row split); the batch is split over the rest (a data × model mesh).")
    var modelParallel = 1

    @Option(help: "Train the single-device step jitted over sharded arrays, the compiler inserting the collectives: dp (batch over \"data\"), tp (Megatron's layout over \"model\", of --model-parallel devices, all by default) or fsdp (parameters and optimiser state over \"data\" too).")
    var sharding: LMSharding?

    @Flag(help: "With --sharding: print the partitioned step's plan report (layouts and inserted collectives) on rank 0.")
    var printPlan = false

    @Flag(help: ArgumentHelp("Test: train the unsplit model data-parallel beside the model-parallel one, on the same batches, and fail unless the losses and parameters agree.", visibility: .hidden))
    var checkUnsplit = false

    static let (features, heads, layers) = (128, 4, 2)

    mutating func validate() throws {
        if context < 1 { throw ValidationError("--context must be at least 1, got \(context)") }
        if sampleEvery < 0 { throw ValidationError("--sample-every must be 0 or more, got \(sampleEvery)") }
        if sampleLength < 0 { throw ValidationError("--sample-length must be 0 or more, got \(sampleLength)") }
        if temperature < 0 { throw ValidationError("--temperature must be 0 or more, got \(temperature)") }
        if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
        if modelParallel < 1 { throw ValidationError("--model-parallel must be at least 1, got \(modelParallel)") }
        if checkUnsplit && modelParallel == 1 && sharding == nil { throw ValidationError("--check-unsplit needs --model-parallel 2 or more, or --sharding") }
        if printPlan && sharding == nil { throw ValidationError("--print-plan needs --sharding") }
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
        let devices = processes * localDevices
        if self.modelParallel > 1 && sharding != nil && sharding != .tp {
            throw FlockError("train-lm: --model-parallel \(self.modelParallel) needs --sharding tp (or no --sharding: the hand-written shardMap version)")
        }
        // --sharding tp splits over every device unless --model-parallel says otherwise.
        let modelParallel = sharding == .tp && self.modelParallel == 1 ? devices : self.modelParallel
        if modelParallel > 1 {
            guard devices % modelParallel == 0 else {
                throw FlockError("train-lm: --model-parallel \(modelParallel) does not divide the \(devices) devices "
                    + "(\(processes) processes × \(localDevices) local devices)")
            }
            guard Self.heads % modelParallel == 0 else {
                throw FlockError("train-lm: --model-parallel \(modelParallel) does not divide the model's \(Self.heads) attention heads")
            }
        }
        let dataParallel = devices / modelParallel
        let batchSize = training.batchSize ?? 32
        guard batchSize % dataParallel == 0 else {
            let over = modelParallel > 1
                ? "the \(dataParallel) data-parallel groups (\(devices) devices / --model-parallel \(modelParallel))"
                : "the \(devices) devices (\(processes) processes × \(localDevices) local devices)"
            throw FlockError("train-lm: global batch size \(batchSize) is not divisible by \(over); use a multiple of \(dataParallel)")
        }
        let steps = training.steps ?? 300

        let model = CharTransformer(
            vocabulary: text.vocabulary.count, context: context, features: Self.features, heads: Self.heads,
            layers: Self.layers, key: Random.key(training.seed))
        let adamw = lmAdamW(learningRate: learningRate, steps: steps)
        let optimizer = GradientTransformation.chain(.clipByGlobalNorm(1), adamw)
        var state = LMTrainState(model: model, optimizer: optimizer.initialize(model), step: Tensor(Int32(0)))
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
        let layout = (modelParallel > 1 ? "a \(dataParallel) × \(modelParallel) data × model mesh" : "data-parallel")
            + (sharding.map { ", jit over sharded arrays (--sharding \($0.rawValue))" } ?? "")
        printOnRank0("train-lm: \(processes) rank(s) × \(localDevices) device(s), \(layout), global batch \(batchSize) × \(context) characters, "
            + "\(steps) steps, \(text.vocabulary.count) characters in the vocabulary, \(trainIds.count) to train on, "
            + "model \(model.parameterCount) parameters")

        var trainer: any LMTrainer
        if let sharding {
            trainer = try ShardedLMTrainer(state: state, sharding: sharding, modelParallel: modelParallel, optimizer: optimizer,
                                           ids: trainIds, context: context)
        } else if modelParallel > 1 {
            trainer = try ModelParallelLMTrainer(state: state, modelParallel: modelParallel, adamw: adamw, ids: trainIds, context: context)
        } else {
            trainer = DataParallelLMTrainer(state: state, optimizer: optimizer, ids: trainIds, context: context)
        }
        let windowKey = Random.key(training.seed + 1), sampleKey = Random.key(training.seed + 2)
        let maxStart = Tensor(Int32(trainIds.count - context))
        // The windows of step `done` depend only on the seed and `done`, so a resumed run sees the same batches;
        // they are the same on every rank, and each trainer takes its devices' rows.
        func windowStarts(step done: Int) -> [Int] {
            Random.randint(Random.foldIn(windowKey, done), shape: [batchSize], minval: Tensor(Int32(0)), maxval: maxStart)
                .toArray(Int32.self).map(Int.init)
        }
        var unsplit: UnsplitCheck? = nil
        if printPlan, let trainer = trainer as? ShardedLMTrainer {
            // The inserted collectives and decisions (one line per argument and result left out: 80 of each).
            let lowered = try trainer.lowered(starts: windowStarts(step: first))
            let report = lowered.partitionReport.split(separator: "\n")
            printOnRank0(report.filter { !$0.hasPrefix("  argument ") && !$0.hasPrefix("  result ") }.joined(separator: "\n"))
            printOnRank0(try trainer.memoryReport(lowered))
        }
        if checkUnsplit, let trainer = trainer as? any SplitLMTrainer {
            unsplit = try UnsplitCheck(trainer, reference: DataParallelLMTrainer(state: state, optimizer: optimizer, ids: trainIds, context: context),
                                       starts: windowStarts(step: first))
        }
        let sampler = Sampler(model: model, text: text)

        var progress = ProgressReporter(totalSteps: steps, examplesPerStep: batchSize * context, every: training.logEvery)
        for done in stride(from: first, through: steps, by: 1) {
            let starts = windowStarts(step: done)
            let loss = try trainer.train(starts: starts)
            try unsplit?.train(starts: starts, loss: loss)
            progress.record(step: done, loss: Double(loss))
            if let checkpoints, training.checkpointEvery > 0, done % training.checkpointEvery == 0 || done == steps {
                try checkpoints.save(trainer.gatheredState(), step: done)  // collective: process 0 writes, every rank returns when it is complete
            }
            if sampleEvery > 0, done % sampleEvery == 0, done < steps {
                let current = try trainer.gatheredState().model  // collective
                if Distributed.processIndex == 0 {
                    let sample = sampler.sample(current, prompt: promptIds, count: sampleLength, temperature: temperature,
                                                key: Random.foldIn(sampleKey, done))
                    progress.log("sample after step \(done): \(sample.debugDescription)")
                }
            }
        }
        state = try trainer.gatheredState()
        progress.finish()
        if let checkpoints, training.checkpointEvery == 0, first <= steps { try checkpoints.save(state, step: steps) }
        try unsplit?.finish(state)
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
