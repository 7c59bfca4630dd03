import Flock

let key0 = PRNGKey(0)

// Layers, losses, metrics, data and checkpoints (FlockNN); optimisers and schedules (FlockOptim).
extension BadInput {
    static let nn: [BadInput] = [
        BadInput("layers", "Linear applied to the wrong feature size", "Linear: expected input of shape […, 3], got [2, 5]") {
            _ = Linear(3, 4, key: key0)(iota([2, 5]))
        },
        BadInput("layers", "Linear applied to a scalar", "Linear: expected input of shape […, 3], got []") { _ = Linear(3, 4, key: key0)(Tensor(Float(1))) },
        BadInput("layers", "Linear from a kernel and a bias that do not fit", "Linear: the kernel must be [in, out] and the bias [out]") {
            _ = Linear(kernel: iota([3, 4]), bias: iota([3]))
        },
        BadInput("layers", "MLP applied to the wrong feature size", "Linear at layers[0]: expected input of shape […, 4], got [1, 3]") {
            _ = MLP(4, hidden: [8], 2, key: key0)(iota([1, 3]))
        },
        BadInput("layers", "Conv applied to the wrong channel count", "Conv: expected input of shape") {
            var keys = KeyStream(key0)
            _ = Conv(3, 4, kernelSize: [3, 3], keys: &keys)(iota([1, 5, 5, 2]))
        },
        BadInput("layers", "Conv whose groups do not divide the features", "Conv: featureGroupCount 2 must divide the 3 input features") {
            var keys = KeyStream(key0)
            _ = Conv(3, 4, kernelSize: [3], featureGroupCount: 2, keys: &keys)
        },
        BadInput("layers", "Conv from a kernel of rank 1", "Conv: the kernel must be [k₁, …, kₙ, in / groups, out]") { _ = Conv(kernel: iota([3])) },
        BadInput("layers", "Embedding looked up with float indices", "Embedding: indices must be integers, got float32") {
            _ = Embedding(embedding: iota([4, 2]))(iota([2]))
        },
        BadInput("layers", "Embedding from a 1-d table", "Embedding: the table must be [numEmbeddings, features], got [4]") {
            _ = Embedding(embedding: iota([4]))
        },
        BadInput("layers", "LayerNorm applied to the wrong feature size", "LayerNorm: expected input of shape […, 4], got [2, 3]") {
            _ = LayerNorm(4)(iota([2, 3]))
        },
        BadInput("layers", "RMSNorm applied to the wrong feature size", "RMSNorm: expected input of shape […, 4], got [3]") { _ = RMSNorm(4)(iota([3])) },
        BadInput("layers", "BatchNorm with a state of the wrong size", "BatchNorm: the state must hold mean and var of shape [3]") {
            let bn = BatchNorm(3)
            _ = bn(iota([2, 3]), state: BatchNorm.State(mean: iota([2]), variance: iota([2])), useRunningAverage: true)
        },
        BadInput("layers", "Dropout with a rate above one", "Dropout: rate must be in [0, 1], got 1.5") {
            _ = Dropout(rate: 1.5)(iota([2]), deterministic: true)
        },
        BadInput("layers", "Dropout in training mode without a key", "Dropout: deterministic is false but no key was given") {
            _ = Dropout(rate: 0.5)(iota([2]), deterministic: false)
        },
        BadInput("layers", "MultiHeadAttention heads that do not divide the features", "MultiHeadAttention: qkvFeatures 6 must be divisible by numHeads 4") {
            var keys = KeyStream(key0)
            _ = MultiHeadAttention(numHeads: 4, inFeatures: 6, keys: &keys)
        },
        BadInput("layers", "MultiHeadAttention applied to the wrong feature size", "MultiHeadAttention: expected query input of shape [batch…, length, 4]") {
            var keys = KeyStream(key0)
            _ = MultiHeadAttention(numHeads: 2, inFeatures: 4, keys: &keys)(iota([1, 3, 5]))
        },
        BadInput("layers", "MultiHeadAttention with a mask that does not broadcast", "MultiHeadAttention: the mask [5, 5] does not broadcast") {
            var keys = KeyStream(key0)
            _ = MultiHeadAttention(numHeads: 2, inFeatures: 4, keys: &keys)(iota([1, 3, 4]), mask: full([5, 5], true))
        },
        BadInput("initializers", "orthogonal initializer of a vector", "orthogonal: the shape needs rank ≥ 2, got [3]") {
            _ = Initializer.orthogonal()(key0, [3], dtype: .float32)
        },
        BadInput("initializers", "variance scaling of an integer dtype", "varianceScaling: dtype must be float32 or float64, got int32") {
            _ = Initializer.heNormal()(key0, [3, 3], dtype: .int32)
        },
        BadInput("initializers", "variance scaling of a vector with the default axes", "varianceScaling: cannot compute fan sizes of a rank-1 shape") {
            _ = Initializer.lecunNormal()(key0, [3], dtype: .float32)
        },
        BadInput("losses", "softmaxCrossEntropy of logits and labels of different shapes", "softmaxCrossEntropy: logits [2, 3] and labels [2, 4] must have the same shape") {
            _ = softmaxCrossEntropy(logits: iota([2, 3]), labels: iota([2, 4]))
        },
        BadInput("losses", "integer labels of the wrong shape", "softmaxCrossEntropy: integer labels must be int32 of shape [2] for logits [2, 3]") {
            _ = softmaxCrossEntropy(logits: iota([2, 3]), integerLabels: Tensor([0, 1, 2] as [Int32]))
        },
        BadInput("losses", "float labels passed as integer labels", "softmaxCrossEntropy: integer labels must be int32") {
            _ = softmaxCrossEntropy(logits: iota([2, 3]), integerLabels: iota([2]))
        },
        BadInput("losses", "squaredError of arrays of different shapes", "squaredError: predictions [3] and targets [4] must have the same shape") {
            _ = squaredError(iota([3]), iota([4]))
        },
        BadInput("losses", "l2Loss of integer predictions", "l2Loss: predictions must be floating point, got int32") {
            _ = l2Loss(Tensor([1, 2] as [Int32]))
        },
        BadInput("losses", "sigmoidBinaryCrossEntropy of integer logits", "sigmoidBinaryCrossEntropy: logits must be floating point") {
            _ = sigmoidBinaryCrossEntropy(logits: Tensor([1] as [Int32]), labels: iota([1]))
        },
        BadInput("losses", "cosineSimilarity of arrays of different shapes", "cosineSimilarity: predictions and targets must be floating point of one shape") {
            _ = cosineSimilarity(iota([3]), iota([2]))
        },
        BadInput("losses", "smoothLabels of integer labels", "smoothLabels: labels must be floating-point probabilities") {
            _ = smoothLabels(Tensor([1, 0] as [Int32]), alpha: 0.1)
        },
        BadInput("metrics", "accuracy with labels of the wrong shape", "accuracy: labels must be int32 of shape [2] for logits [2, 3]") {
            _ = accuracy(logits: iota([2, 3]), labels: Tensor([1] as [Int32]))
        },
        BadInput("metrics", "topKAccuracy with k = 0", "topKAccuracy: k must be at least 1, got 0") {
            _ = topKAccuracy(logits: iota([2, 3]), labels: Tensor([1, 0] as [Int32]), k: 0)
        },
        BadInput("data", "a Dataset whose labels have fewer rows", "Dataset: features have 4 rows (shape [4, 2]) but labels have 3") {
            _ = try Dataset(features: iota([4, 2]), labels: Tensor([0, 1, 0] as [Int32]))
        },
        BadInput("data", "a Dataset of scalars", "Dataset: features and labels need a leading example axis") {
            _ = try Dataset(features: Tensor(Float(1)), labels: Tensor(Int32(0)))
        },
        BadInput("data", "Dataset rows out of range", "Dataset.rows: row 9 is out of range for 4 examples") {
            _ = try Dataset(features: iota([4, 2]), labels: Tensor([0, 1, 0, 1] as [Int32])).rows([0, 9])
        },
        BadInput("data", "a Dataset shard index out of range", "Dataset.shard: index 3 is not in 0..<2") {
            _ = try Dataset(features: iota([4, 2]), labels: Tensor([0, 1, 0, 1] as [Int32])).shard(index: 3, count: 2)
        },
        BadInput("data", "a DataLoader with a batch size of zero", "DataLoader: globalBatchSize must be positive, got 0") {
            _ = try DataLoader(try Dataset(features: iota([4, 2]), labels: Tensor([0, 1, 0, 1] as [Int32])), globalBatchSize: 0)
        },
        BadInput("data", "a DataLoader batch not divisible among processes", "not divisible") {
            _ = try DataLoader(try Dataset(features: iota([8, 2]), labels: Tensor([Int32](repeating: 0, count: 8))), globalBatchSize: 6, processIndex: 0, processCount: 4)
        },
        BadInput("data", "a DataLoader for a process outside the job", "DataLoader: process 5 of 2 with 1 local devices is not a valid job") {
            _ = try DataLoader(try Dataset(features: iota([4, 2]), labels: Tensor([0, 1, 0, 1] as [Int32])), globalBatchSize: 2, processIndex: 5, processCount: 2, localDeviceCount: 1)
        },
        BadInput("data", "a Dataset from an npz without the named array", "Dataset: /tmp/flock-bad-input/data.npz has no array 'labels' (it has x, y)") {
            try saveNPZ(["x": iota([2, 2]), "y": iota([2])], to: "\(scratch)/data.npz")
            _ = try Dataset(npz: "\(scratch)/data.npz", features: "x", labels: "labels")
        },
        BadInput("checkpoints", "restoring a checkpoint of another model", "Checkpoint.restore: /tmp/flock-bad-input/model.safetensors has no tensor") {
            try Checkpoint.save(Linear(3, 4, key: key0), to: "\(scratch)/model.safetensors")
            _ = try Checkpoint.restore(like: MLP(3, hidden: [5], 4, key: key0), from: "\(scratch)/model.safetensors")
        },
        BadInput("checkpoints", "restoring a checkpoint with extra tensors", "has tensors the template lacks") {
            try Checkpoint.save(["a": iota([2]), "b": iota([2])], to: "\(scratch)/extra.safetensors")
            _ = try Checkpoint.restore(like: ["a": iota([2])], from: "\(scratch)/extra.safetensors")
        },
        BadInput("checkpoints", "restoring a checkpoint into parameters of another shape", "Checkpoint.restore") {
            try Checkpoint.save(Linear(3, 4, key: key0), to: "\(scratch)/narrow.safetensors")
            _ = try Checkpoint.restore(like: Linear(5, 4, key: key0), from: "\(scratch)/narrow.safetensors")
        },
        BadInput("checkpoints", "loading a checkpoint that is not one", "Checkpoint.load") {
            _ = try Checkpoint.load(scratchFile("not-a-checkpoint.safetensors", text: "hello"))
        },
        BadInput("checkpoints", "a metadata key Flock reserves", "Checkpoint.save: metadata key 'flock.step' is reserved") {
            try Checkpoint.save(["a": iota([2])], to: "\(scratch)/reserved.safetensors", metadata: ["flock.step": "1"])
        },
        BadInput("checkpoints", "a CheckpointManager keeping zero checkpoints", "CheckpointManager: keep must be at least 1, got 0") {
            _ = try CheckpointManager(directory: "\(scratch)/ckpt", keep: 0)
        },
        BadInput("checkpoints", "a CheckpointManager saving a negative step", "CheckpointManager.save: step must be non-negative, got -1") {
            try CheckpointManager(directory: "\(scratch)/ckpt-neg").save(["a": iota([2])], step: -1)
        },
        BadInput("checkpoints", "restoring a step that was never saved", "CheckpointManager.restore: no checkpoint for step 7") {
            _ = try CheckpointManager(directory: "\(scratch)/ckpt-none").restore(like: ["a": iota([2])], step: 7)
        },
        BadInput("checkpoints", "a CheckpointManager over a file", "is not a directory") {
            _ = try CheckpointManager(directory: scratchFile("plain-file", text: "x"))
        },
    ]

    static let optim: [BadInput] = [
        BadInput("optimisers", "update with gradients of another tree", "sgd.update: the optimiser state was made for a different model: first mismatching path ['w'] in the state, ['v'] in the gradients") {
            let opt = GradientTransformation.sgd(learningRate: 0.1)
            let state = opt.initialize(["w": iota([2])])
            _ = opt.update(["v": iota([2])], state: state)
        },
        BadInput("optimisers", "applyUpdates with a mismatched parameter tree", "tree_map: pytree structures differ") {
            _ = applyUpdates(["w": iota([2])], ["b": iota([2])])
        },
        BadInput("optimisers", "applyUpdates with updates of another shape", "add: incompatible shapes for broadcasting: [2] and [3]") {
            _ = applyUpdates(["w": iota([2])], ["w": iota([3])])
        },
        BadInput("optimisers", "adamw without the parameters", "this transformation reads the parameters: pass params:") {
            let opt = GradientTransformation.adamw(learningRate: 0.1)
            let state = opt.initialize(["w": iota([2])])
            _ = opt.update(["w": iota([2])], state: state)
        },
        BadInput("optimisers", "an optimiser state from another optimiser", "update") {
            let state = GradientTransformation.sgd(learningRate: 0.1).initialize(["w": iota([2])])
            _ = GradientTransformation.adam(learningRate: 0.1).update(["w": iota([2])], state: state)
        },
        BadInput("optimisers", "multiSteps every zero steps", "multiSteps: everyK must be at least 1, got 0") {
            _ = GradientTransformation.multiSteps(.sgd(learningRate: 0.1), everyK: 0)
        },
        BadInput("schedules", "cosineDecay over zero steps", "cosineDecay: decaySteps must be positive, got 0") {
            _ = Schedule.cosineDecay(initValue: 1, decaySteps: 0)
        },
        BadInput("schedules", "joined schedules with too few boundaries", "joined: 2 schedules need 1 boundaries, got 0") {
            _ = Schedule.joined([.constant(1), .constant(2)], boundaries: [])
        },
        BadInput("schedules", "piecewiseConstant with a negative scale", "piecewiseConstant: scales must be non-negative") {
            _ = Schedule.piecewiseConstant(initValue: 1, boundariesAndScales: [10: -1])
        },
    ]
}
