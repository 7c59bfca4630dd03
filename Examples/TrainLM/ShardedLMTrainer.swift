// train-lm --sharding dp|tp|fsdp: the single-device training step, jitted
// over sharded arrays (`jit(inShardings:outShardings:)`). The model code has
// no collective: the layouts of the parameters, the optimiser state and the
// batch say how the work is split, and the partitioner inserts the
// collectives (print them with --print-plan).
//
// - dp: the batch over "data", everything else replicated; the gradients'
//   sums over the batch become psums.
// - tp: Megatron's layout (Megatron.swift's specs) on a data × model mesh:
//   heads and MLP hidden units over "model", given by the parameters' specs
//   alone; the row-split products' partial sums become psums.
// - fsdp: every parameter and its optimiser moments split over "data" along
//   their first divisible dimension; each block's parameters are gathered
//   just before the block runs (a sharding constraint) and their gradients,
//   asked for in the parameters' layout, become reduce-scatters.
import ArgumentParser
import Flock
import FlockExampleSupport

/// How `--sharding` lays train-lm's training out.
enum LMSharding: String, ExpressibleByArgument, CaseIterable {
    case dp, tp, fsdp
}

/// The sharding annotations the model takes under jit over sharded arrays:
/// its activations' batch over `batchAxis`, and (FSDP) its parameters
/// gathered where they are used. Annotations, not collectives.
struct LMLayout {
    let batchAxis: String
    let gatherParameters: Bool

    /// `h` (`[batch, …]`) with its batch over `batchAxis`.
    func activations(_ h: Tensor) -> Tensor { withShardingConstraint(h, PartitionSpec(MeshAxes([batchAxis]))) }

    /// `module`, whose parameters are whole where this is called (FSDP's
    /// per-use all-gather), or unchanged.
    func parameters<M: PyTree>(_ module: M) -> M {
        gatherParameters ? treeMapWithPath(module) { _, p in withShardingConstraint(p, .replicated) } : module
    }
}

/// Training jitted over sharded arrays with the layouts of `sharding`.
struct ShardedLMTrainer: SplitLMTrainer {
    static let (dataAxis, modelAxis) = ("data", "model")
    let sharding: LMSharding
    let mesh: Mesh
    var leaves: [ShardedArray]
    let specs: [PartitionSpec]
    let template: LMTrainState
    let step: ShardedJitFunction
    /// The gradients alone, in the parameters' layouts (for --check-unsplit).
    let gradientStep: ShardedJitFunction
    let batchSharding: NamedSharding
    let ids: ArraySlice<Int32>
    let context: Int

    /// - Parameters:
    ///   - state: the whole state, the same on every process.
    ///   - modelParallel: the size of "model" for `tp` (the mesh is data × model).
    init(state: LMTrainState, sharding: LMSharding, modelParallel: Int, optimizer: GradientTransformation,
         ids: ArraySlice<Int32>, context: Int) throws {
        (template, self.sharding, self.ids, self.context) = (state, sharding, ids, context)
        let devices = Distributed.deviceCount
        let model = sharding == .tp ? modelParallel : 1
        mesh = try Mesh.overAllDevices(shape: [devices / model, model], axisNames: [Self.dataAxis, Self.modelAxis])
        let specs = Self.partitionSpecs(state, sharding: sharding, dataSize: devices / model)
        self.specs = specs
        let mesh = mesh
        leaves = try zip(treeLeaves(state), specs).map { try ShardedArray($0, sharding: NamedSharding(mesh: mesh, spec: $1)) }
        batchSharding = try NamedSharding(mesh: mesh, spec: PartitionSpec(MeshAxes([Self.dataAxis]), nil))

        let layout = LMLayout(batchAxis: Self.dataAxis, gatherParameters: sharding == .fsdp)
        let count = specs.count, modelLeafCount = treeLeaves(state.model).count
        let modelSpecs = Array(specs.prefix(modelLeafCount))
        let template = state
        // FSDP: the gradients in the parameters' layouts, so that their sums
        // over the batch are reduce-scattered rather than all-reduced.
        func laidOut(_ grads: CharTransformer) -> CharTransformer {
            guard sharding == .fsdp else { return grads }
            return treeUnflatten(like: grads, zip(treeLeaves(grads), modelSpecs).map { withShardingConstraint($0, $1) })
        }
        let stateShardings: [NamedSharding?] = try specs.map { try NamedSharding(mesh: mesh, spec: $0) }
        step = jit(inShardings: nil, outShardings: stateShardings + [try NamedSharding(mesh: mesh, spec: .replicated)]) { a in
            let s = treeUnflatten(like: template, Array(a[0..<count]))
            let (loss, grads) = Self.lossAndGradients(s.model, inputs: a[count], targets: a[count + 1], layout: layout)
            let (updates, optimizerState) = optimizer.update(laidOut(grads), state: s.optimizer, params: s.model)
            let next = LMTrainState(model: applyUpdates(s.model, updates), optimizer: optimizerState, step: s.step + 1)
            return treeLeaves(next) + [loss]
        }
        gradientStep = jit(inShardings: nil, outShardings: Array(stateShardings.prefix(modelLeafCount))) { a in
            let m = treeUnflatten(like: template.model, Array(a[0..<modelLeafCount]))
            return treeLeaves(laidOut(Self.lossAndGradients(m, inputs: a[modelLeafCount], targets: a[modelLeafCount + 1], layout: layout).gradients))
        }
    }

    /// The mean loss over the global batch and its gradients, as on one device.
    static func lossAndGradients(_ model: CharTransformer, inputs: Tensor, targets: Tensor, layout: LMLayout)
        -> (loss: Tensor, gradients: CharTransformer)
    {
        let (loss, grads) = valueAndGrad { (m: CharTransformer) in
            softmaxCrossEntropy(logits: m(inputs, layout: layout), integerLabels: targets).mean()
        }(model)
        return (loss, grads)
    }

    /// The spec of each leaf of `state`.
    static func partitionSpecs(_ state: LMTrainState, sharding: LMSharding, dataSize: Int) -> [PartitionSpec] {
        switch sharding {
        case .dp:
            return treeLeaves(state).map { _ in .replicated }
        case .tp:
            return ModelParallelLMTrainer.partitionSpecs(state)
        case .fsdp:
            // The first dimension `dataSize` divides, over "data" (scalars and indivisible leaves replicated).
            return treeLeaves(state).map { leaf in
                guard let d = leaf.shape.firstIndex(where: { $0 % dataSize == 0 && $0 >= dataSize }) else { return .replicated }
                var dims = [[String]](repeating: [], count: d + 1)
                dims[d] = [dataAxis]
                return PartitionSpec(dimensions: dims)
            }
        }
    }

    /// The plan of one training step: layouts, inserted collectives and their bytes.
    func lowered(starts: [Int]) throws -> ShardedLoweredFunction {
        try step.lower(leaves + batch(starts: starts))
    }

    /// One device's memory for a step: its blocks of the parameters and of
    /// the whole state, and the compiled step's estimated peak.
    func memoryReport(_ lowered: ShardedLoweredFunction) throws -> String {
        let modelLeafCount = treeLeaves(template.model).count
        func bytes(_ arrays: ArraySlice<ShardedArray>) -> Int {
            arrays.reduce(0) { $0 + $1.sharding.shardShape($1.shape).reduce(1, *) * $1.dtype.byteSize }
        }
        let peak = try lowered.perDevicePeakBytes()
        return "per device: parameters \(bytes(leaves.prefix(modelLeafCount))) B, state \(bytes(leaves[...])) B, "
            + "step's plan peak \(peak) B (arguments, results and intermediates)"
    }

    mutating func train(starts: [Int]) throws -> Float {
        let outs = try step(leaves + batch(starts: starts))
        leaves = Array(outs.dropLast())
        return outs.last!.addressableShards[0].data.item(Float.self)
    }

    /// The gradients of the mean loss over the windows at `starts`, gathered. Collective.
    func gradients(starts: [Int]) throws -> CharTransformer {
        let modelLeafCount = treeLeaves(template.model).count
        let outs = try gradientStep(Array(leaves.prefix(modelLeafCount)) + batch(starts: starts))
        return treeUnflatten(like: template.model, try outs.map { try $0.processAllgather() })
    }

    /// The inputs and targets of the windows at `starts` (the same on every process), split over "data".
    private func batch(starts: [Int]) throws -> [ShardedArray] {
        let b = windows(of: ids, starts: starts, context: context)
        return [try ShardedArray(b.inputs, sharding: batchSharding), try ShardedArray(b.targets, sharding: batchSharding)]
    }

    func gatheredState() throws -> LMTrainState {
        treeUnflatten(like: template, try leaves.map { try $0.processAllgather() })
    }
}
