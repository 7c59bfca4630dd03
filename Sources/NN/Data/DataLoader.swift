import FlockCollectives
import FlockCore

// Batching for data-parallel training. Every process computes the same
// global plan: the epoch's permutation (from the shuffle key folded with the
// epoch number, identical on every rank), cut into global batches of
// `globalBatchSize` consecutive positions. Global batch b is split evenly
// over the job's devices, processes first: process p takes positions
// [p·L, (p+1)·L) of it, L = globalBatchSize / processCount, and its local
// device d the d-th block of L / localDeviceCount of those. So the examples
// in a global batch, and therefore the averaged gradient, do not depend on
// how many processes or devices share the work.
//
// The last, partial global batch is either dropped or padded up to a full
// one with copies of the epoch's first example, and a mask (1 for a real
// example, 0 for padding) says which is which — the same decision on every
// process, so no rank waits in a collective the others skip.

/// Batches of a ``Dataset`` for a job of several processes and local devices.
///
/// ```swift
/// let loader = try DataLoader(train, globalBatchSize: 128, shuffle: PRNGKey(0), remainder: .pad)
/// for epoch in 0..<10 {
///     for batch in loader.epoch(epoch) {
///         // batch.features: this process's 128 / processCount rows; batch.mask: 1 real, 0 padding
///         state = trainStep(state, batch.features, batch.labels, batch.mask)
///     }
/// }
/// ```
public struct DataLoader: Sendable {
    /// What to do with the examples left over after the last full global batch.
    public enum Remainder: Sendable {
        /// Leave them out of the epoch (they come back in other epochs when shuffling).
        case drop
        /// Make one more batch, filled up with masked copies of an example.
        case pad
    }

    /// The examples.
    public let dataset: Dataset
    /// Examples per step, over all processes and devices.
    public let globalBatchSize: Int
    /// The key the epochs' permutations derive from; `nil` keeps the data set's order.
    public let shuffleKey: PRNGKey?
    /// What happens to the last, partial batch.
    public let remainder: Remainder
    /// This process's index.
    public let processIndex: Int
    /// The number of processes.
    public let processCount: Int
    /// Devices per process.
    public let localDeviceCount: Int
    /// How many batches a background thread prepares ahead (0: none).
    public let prefetch: Int

    /// A loader; by default for the processes and local devices of ``Distributed``.
    ///
    /// - Parameters:
    ///   - dataset: The examples; every process must pass the same ones.
    ///   - globalBatchSize: Examples per step over the whole job: a multiple of
    ///     `processCount × localDeviceCount`.
    ///   - shuffle: Key for shuffling every epoch (the same on every process), or `nil`.
    ///   - remainder: `.drop` or `.pad` the last partial batch.
    ///   - processIndex: This process (default ``Distributed/processIndex``).
    ///   - processCount: Processes (default ``Distributed/processCount``).
    ///   - localDeviceCount: Devices per process (default ``Distributed/localDeviceCount``).
    ///   - prefetch: Batches prepared ahead on a background thread.
    /// - Throws: ``FlockError`` when the batch size does not divide over the
    ///   devices, is not positive, or (with `.drop`) exceeds the data set.
    public init(
        _ dataset: Dataset, globalBatchSize: Int, shuffle: PRNGKey? = nil, remainder: Remainder = .drop,
        processIndex: Int? = nil, processCount: Int? = nil, localDeviceCount: Int? = nil, prefetch: Int = 2
    ) throws {
        let processCount = processCount ?? Distributed.processCount
        let processIndex = processIndex ?? Distributed.processIndex
        let localDeviceCount = localDeviceCount ?? Distributed.localDeviceCount
        guard processCount >= 1, (0..<processCount).contains(processIndex), localDeviceCount >= 1 else {
            throw FlockError(
                "DataLoader: process \(processIndex) of \(processCount) with \(localDeviceCount) local devices is not a valid job")
        }
        let devices = processCount * localDeviceCount
        guard globalBatchSize > 0 else { throw FlockError("DataLoader: globalBatchSize must be positive, got \(globalBatchSize)") }
        guard globalBatchSize % devices == 0 else {
            throw FlockError(
                "DataLoader: global batch size \(globalBatchSize) is not divisible by the \(devices) devices "
                    + "(\(processCount) processes × \(localDeviceCount) local devices); use a multiple of \(devices)")
        }
        guard remainder == .pad || dataset.count >= globalBatchSize else {
            throw FlockError(
                "DataLoader: the data set's \(dataset.count) examples do not fill one global batch of \(globalBatchSize) "
                    + "(use a smaller batch or remainder: .pad)")
        }
        guard prefetch >= 0 else { throw FlockError("DataLoader: prefetch must be non-negative, got \(prefetch)") }
        self.dataset = dataset
        self.globalBatchSize = globalBatchSize
        self.shuffleKey = shuffle
        self.remainder = remainder
        self.processIndex = processIndex
        self.processCount = processCount
        self.localDeviceCount = localDeviceCount
        self.prefetch = prefetch
    }

    /// Examples per process per step.
    public var localBatchSize: Int { globalBatchSize / processCount }
    /// Examples per device per step.
    public var perDeviceBatchSize: Int { localBatchSize / localDeviceCount }
    /// Steps in one epoch.
    public var batchesPerEpoch: Int {
        remainder == .drop ? dataset.count / globalBatchSize : (dataset.count + globalBatchSize - 1) / globalBatchSize
    }

    /// The order of the examples in `epoch`: the same on every process.
    ///
    /// `Random.permutation(Random.foldIn(shuffleKey, epoch), count)`, or the
    /// identity without a shuffle key.
    public func order(epoch: Int) -> [Int] {
        guard let shuffleKey else { return Array(0..<dataset.count) }
        return Random.permutation(Random.foldIn(shuffleKey, epoch), dataset.count).toArray(Int32.self).map(Int.init)
    }

    /// This process's part of global batch `index` of an epoch whose order is `order`.
    public func batch(_ index: Int, order: [Int]) -> Batch {
        let start = index * globalBatchSize + processIndex * localBatchSize
        var rows: [Int] = []
        var mask: [Float] = []
        rows.reserveCapacity(localBatchSize)
        for position in start..<(start + localBatchSize) {
            let real = position < order.count
            rows.append(real ? order[position] : order[0])
            mask.append(real ? 1 : 0)
        }
        return Batch(
            features: Tensor(concrete: gatherRows(dataset.featureArray, rows)),
            labels: Tensor(concrete: gatherRows(dataset.labelArray, rows)),
            mask: Tensor(concrete: DenseArray(mask, shape: [localBatchSize])), rows: rows,
            realCount: mask.reduce(0) { $0 + Int($1) }, index: index, localDeviceCount: localDeviceCount)
    }

    /// The batches of `epoch`, in order, prepared ahead on a background thread
    /// when ``prefetch`` > 0 (the batches are the same either way).
    public func epoch(_ epoch: Int) -> EpochBatches {
        EpochBatches(loader: self, order: order(epoch: epoch))
    }
}

/// One process's part of a global batch.
public struct Batch: Sendable {
    /// Features, `[localBatchSize, ...]`: the blocks of the local devices one after another.
    public let features: Tensor
    /// Labels, `[localBatchSize, ...]`.
    public let labels: Tensor
    /// float32 `[localBatchSize]`: 1 for a real example, 0 for padding.
    public let mask: Tensor
    /// The data set rows of this part, in order (padding repeats a real row).
    public let rows: [Int]
    /// How many of the examples are real (the rest is padding).
    public let realCount: Int
    /// The batch's index in its epoch.
    public let index: Int
    let localDeviceCount: Int

    /// Features, labels and mask with a leading local-device axis,
    /// `[localDeviceCount, perDevice, ...]`, as `pmap` takes them.
    public func splitForDevices() -> (features: Tensor, labels: Tensor, mask: Tensor) {
        func split(_ t: Tensor) -> Tensor {
            t.reshaped([localDeviceCount, t.shape[0] / localDeviceCount] + Array(t.shape.dropFirst()))
        }
        return (split(features), split(labels), split(mask))
    }
}
