// The two ways train-lm lays its training out over the devices: data
// parallelism alone (every device holds the whole model, pmap), or a
// data × model mesh with the blocks split Megatron-style over "model"
// (shardMap, Megatron.swift). Both train on the same global batches and keep
// their state in the same structure, so checkpoints serve either.
import Flock
import FlockExampleSupport

typealias LMTrainState = ClassifierTrainState<CharTransformer>

/// The training state on the devices and the step that advances it.
protocol LMTrainer {
    /// Trains one step on the windows of `text` starting at `starts` (the
    /// global batch, the same on every process) and returns the mean loss.
    /// Collective.
    mutating func train(starts: [Int]) throws -> Float
    /// The whole state on every process. Collective.
    func gatheredState() throws -> LMTrainState
}

/// A trainer that splits the model, whose gradients --check-unsplit compares with the unsplit model's.
protocol SplitLMTrainer: LMTrainer {
    /// The gradients of the mean loss over the windows at `starts`, the
    /// whole model's on every process. Collective.
    func gradients(starts: [Int]) throws -> CharTransformer
}

/// The optimiser after the clipping both trainers apply: AdamW with a warmup + cosine schedule.
func lmAdamW(learningRate: Double, steps: Int) -> GradientTransformation {
    let warmup = max(1, min(100, steps / 10))
    return .adamw(learningRate: .warmupCosineDecay(initValue: 0, peakValue: learningRate, warmupSteps: warmup,
                                                   decaySteps: max(steps, warmup + 1), endValue: learningRate / 10),
                  weightDecay: 0.01)
}

/// Data parallelism over every device: the gradients averaged with `pmean`,
/// then `chain(clipByGlobalNorm(1), adamw)`.
struct DataParallelLMTrainer: LMTrainer {
    var state: LMTrainState
    let step: DataParallelStep<LMTrainState>
    let ids: ArraySlice<Int32>
    let context: Int

    init(state: LMTrainState, optimizer: GradientTransformation, ids: ArraySlice<Int32>, context: Int) {
        (self.state, self.ids, self.context) = (state, ids, context)
        step = DataParallelStep(like: state, metricCount: 1) { s, inputs in
            let (loss, grads) = valueAndGrad { (m: CharTransformer) in
                softmaxCrossEntropy(logits: m(inputs[0]), integerLabels: inputs[1]).mean()
            }(s.model)
            let (updates, optimizerState) = optimizer.update(pmean(grads, axisName: dataParallelAxis), state: s.optimizer, params: s.model)
            return (LMTrainState(model: applyUpdates(s.model, updates), optimizer: optimizerState, step: s.step + 1), [loss])
        }
    }

    mutating func train(starts: [Int]) throws -> Float {
        // This rank takes its rows of the global batch, split over its devices.
        let (processes, rank, localDevices) = (Distributed.processCount, Distributed.processIndex, Distributed.localDeviceCount)
        let perProcess = starts.count / processes
        let batch = windows(of: ids, starts: Array(starts[rank * perProcess..<(rank + 1) * perProcess]), context: context)
        let perDevice = [localDevices, perProcess / localDevices, context]
        let metrics: [Tensor]
        (state, metrics) = try step(state, [batch.inputs.reshaped(perDevice), batch.targets.reshaped(perDevice)])
        return metrics[0].item(Float.self)
    }

    func gatheredState() throws -> LMTrainState { state }
}

/// A data × model mesh: the batch split over "data", each block's heads and
/// MLP hidden units over "model" (Megatron.swift). Each device averages its
/// gradients over "data" with `pmean` (the shards' over "model" are their
/// own; the replicated parameters' are the same on every device of "model"),
/// clips them by the global norm of the whole model (the split parameters'
/// squares summed over "model" with `psum`), then applies AdamW.
struct ModelParallelLMTrainer: SplitLMTrainer {
    static let (dataAxis, modelAxis) = ("data", "model")
    let mesh: Mesh
    /// The state's leaves on the devices, and how each is split.
    var leaves: [ShardedArray]
    let specs: [PartitionSpec]
    /// A state of the whole model's shapes, for rebuilding it from gathered leaves.
    let template: LMTrainState
    let step: ShardMapFunction
    /// The gradients alone (for --check-unsplit).
    let gradientStep: ShardMapFunction
    let batchSharding: NamedSharding
    let ids: ArraySlice<Int32>
    let context: Int

    /// - Parameter state: the whole state, the same on every process.
    init(state: LMTrainState, modelParallel: Int, adamw: GradientTransformation, ids: ArraySlice<Int32>, context: Int) throws {
        (template, self.ids, self.context) = (state, ids, context)
        let devices = Distributed.deviceCount
        let mesh = try Mesh.overAllDevices(shape: [devices / modelParallel, modelParallel], axisNames: [Self.dataAxis, Self.modelAxis])
        let specs = Self.partitionSpecs(state)
        (self.mesh, self.specs) = (mesh, specs)
        leaves = try zip(treeLeaves(state), specs).map { try ShardedArray($0, sharding: NamedSharding(mesh: mesh, spec: $1)) }
        batchSharding = try NamedSharding(mesh: mesh, spec: PartitionSpec(MeshAxes([Self.dataAxis]), nil))

        // The state of one device: its blocks' shapes, and an optimiser state made for them.
        let modelLeafCount = treeLeaves(state.model).count
        let localLeaves = try zip(treeLeaves(state.model), specs).map { leaf, spec in
            zeros(try NamedSharding(mesh: mesh, spec: spec).shardShape(leaf.shape), dtype: leaf.dtype)
        }
        let localModel = treeUnflatten(like: state.model, localLeaves)
        let optimizer = GradientTransformation.chain(.identity, adamw)  // the clipping is done by hand, across "model"
        let localState = LMTrainState(model: localModel, optimizer: optimizer.initialize(localModel), step: state.step)
        let split = specs.prefix(modelLeafCount).map { !$0.usedAxes.isEmpty }
        let count = specs.count
        let batchSpecs = [batchSharding.spec, batchSharding.spec]
        step = shardMap({ blocks in
            let s = treeUnflatten(like: localState, Array(blocks[0..<count]))
            let (loss, grads) = Self.lossAndGradients(s.model, inputs: blocks[count], targets: blocks[count + 1])
            let clipped = clipByGlobalNorm(grads, maxNorm: 1, split: split, axis: Self.modelAxis)
            let (updates, optimizerState) = optimizer.update(clipped, state: s.optimizer, params: s.model)
            let next = LMTrainState(model: applyUpdates(s.model, updates), optimizer: optimizerState, step: s.step + 1)
            return treeLeaves(next) + [loss]
        }, mesh: mesh, inSpecs: specs + batchSpecs, outSpecs: specs + [.replicated])
        gradientStep = shardMap({ blocks in
            let model = treeUnflatten(like: localModel, Array(blocks[0..<modelLeafCount]))
            return treeLeaves(Self.lossAndGradients(model, inputs: blocks[modelLeafCount], targets: blocks[modelLeafCount + 1]).gradients)
        }, mesh: mesh, inSpecs: specs.prefix(modelLeafCount) + batchSpecs, outSpecs: Array(specs.prefix(modelLeafCount)))
    }

    /// One device's mean loss over the global batch and its gradients: its
    /// shards' for the split parameters, the whole gradient for the others.
    static func lossAndGradients(_ model: CharTransformer, inputs: Tensor, targets: Tensor) -> (loss: Tensor, gradients: CharTransformer) {
        let (loss, grads) = valueAndGrad { (m: CharTransformer) in
            softmaxCrossEntropy(logits: m(inputs, modelAxis: modelAxis), integerLabels: targets).mean()
        }(model)
        return (pmean(loss, axisName: dataAxis), pmean(grads, axisName: dataAxis))
    }

    /// The gradients of the mean loss over the windows at `starts` (for
    /// --check-unsplit), gathered: the whole model's on every process. Collective.
    func gradients(starts: [Int]) throws -> CharTransformer {
        let modelLeafCount = treeLeaves(template.model).count
        let outs = try gradientStep(Array(leaves.prefix(modelLeafCount)) + batch(starts: starts))
        return treeUnflatten(like: template.model, try outs.map(gathered))
    }

    mutating func train(starts: [Int]) throws -> Float {
        let outs = try step(leaves + batch(starts: starts))
        leaves = Array(outs.dropLast())
        return outs.last!.addressableShards[0].data.item(Float.self)
    }

    /// The inputs and targets of the windows at `starts`, split over "data".
    private func batch(starts: [Int]) throws -> [ShardedArray] {
        // Each local device's rows: those of its coordinate along "data".
        let rows = starts.count / mesh.shape[0]
        var inputs: [Tensor] = [], targets: [Tensor] = []
        for device in Distributed.processIndex * Distributed.localDeviceCount..<(Distributed.processIndex + 1) * Distributed.localDeviceCount {
            let data = mesh.coordinates(of: device)![0]
            let batch = windows(of: ids, starts: Array(starts[data * rows..<(data + 1) * rows]), context: context)
            inputs.append(batch.inputs)
            targets.append(batch.targets)
        }
        let shape = [starts.count, context]
        return [
            try ShardedArray(shape: shape, sharding: batchSharding, localBlocks: inputs),
            try ShardedArray(shape: shape, sharding: batchSharding, localBlocks: targets),
        ]
    }

    func gatheredState() throws -> LMTrainState {
        treeUnflatten(like: template, try leaves.map(gathered))
    }

    /// The spec of each leaf of `state`: the block parameters Megatron splits,
    /// and the optimiser's moments of them, over "model"; the rest replicated.
    static func partitionSpecs(_ state: LMTrainState) -> [PartitionSpec] {
        let split = TransformerBlock.modelParallelSpecs(axis: modelAxis)
        return leafPaths(state).map { path in
            // A block parameter's path ends in `blocks[i].` and its path within the block.
            guard let r = path.range(of: #"blocks\[[0-9]+\]\."#, options: .regularExpression) else { return .replicated }
            return split[String(path[r.upperBound...])] ?? .replicated
        }
    }
}

/// The whole of `array` on every process (a replicated one without communication). Collective.
private func gathered(_ array: ShardedArray) throws -> Tensor {
    array.spec.usedAxes.isEmpty ? array.addressableShards[0].data : try array.processAllgather()
}

/// `clipByGlobalNorm(maxNorm)` of gradients whose `split` leaves hold one
/// device's part along `axis`: their squares are summed over `axis`, so every
/// device scales by the whole model's norm (optax's formula otherwise).
func clipByGlobalNorm(_ grads: CharTransformer, maxNorm: Double, split: [Bool], axis: String) -> CharTransformer {
    var whole = Tensor(Float(0)), parts = Tensor(Float(0))
    for (leaf, isSplit) in zip(treeLeaves(grads), split) {
        if isSplit { parts = parts + (leaf * leaf).sum() } else { whole = whole + (leaf * leaf).sum() }
    }
    let norm = sqrt(whole + psum(parts, axisName: axis))
    let keep = norm .< Tensor(maxNorm, dtype: norm.dtype)
    return treeMap(grads) { t in select(keep, t, (t / norm) * maxNorm) }
}

/// The key path of each leaf of `tree`, in leaf order (as its structure prints them).
func leafPaths<T: PyTree>(_ tree: T) -> [String] {
    treeStructure(tree).nodes.filter { $0.hasSuffix(": leaf") }.map { String($0.dropLast(": leaf".count)) }
}
