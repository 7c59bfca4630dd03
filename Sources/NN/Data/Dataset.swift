import FlockCore

// A data set is two concrete arrays with the same leading dimension: the
// features of each example and its label. It lives in host memory, so every
// process can draw the rows of any batch; batching, shuffling and the split
// across processes and devices are the DataLoader's job. Rows are gathered
// by copying bytes (no Flock operations), so batches can be built on a
// background thread.

/// Examples for training or evaluation: features and labels, one row per example.
///
/// ```swift
/// let train = try Dataset(npz: "Examples/Data/digits.npz", features: "x_train", labels: "y_train")
/// print(train.count, train.features.shape)      // 1500 [1500, 64]
/// let loader = try DataLoader(train, globalBatchSize: 100, shuffle: PRNGKey(0))
/// ```
public struct Dataset: Sendable {
    /// The features, `[count, ...]`.
    public var features: Tensor { Tensor(concrete: featureArray) }
    /// The labels, `[count, ...]`.
    public var labels: Tensor { Tensor(concrete: labelArray) }

    /// The arrays themselves: batches are byte copies from them, which need
    /// no Flock operation (so they can run on the prefetch thread) and cannot fail.
    let featureArray: DenseArray
    let labelArray: DenseArray

    /// The number of examples.
    public var count: Int { featureArray.shape[0] }

    /// A data set over in-memory arrays.
    ///
    /// ```swift
    /// let data = try Dataset(features: x, labels: y, featureDType: .float32, labelDType: .int32)
    /// ```
    ///
    /// - Parameters:
    ///   - features: Concrete, at least 1-dimensional: one row per example.
    ///   - labels: Concrete, with the same number of rows.
    ///   - featureDType: When given, the dtype `features` must have.
    ///   - labelDType: When given, the dtype `labels` must have.
    ///   - exampleShape: When given, the shape of one example's features (`features.shape.dropFirst()`).
    /// - Throws: ``FlockError`` when an array is traced, a scalar, of another
    ///   dtype or shape than asked, or the row counts differ.
    public init(
        features: Tensor, labels: Tensor, featureDType: DType? = nil, labelDType: DType? = nil, exampleShape: [Int]? = nil
    ) throws {
        let x = try features.concreteArray(for: "Dataset: features")
        let y = try labels.concreteArray(for: "Dataset: labels")
        guard x.rank >= 1, y.rank >= 1 else {
            throw FlockError("Dataset: features and labels need a leading example axis, got shapes \(x.shape) and \(y.shape)")
        }
        guard x.shape[0] == y.shape[0] else {
            throw FlockError("Dataset: features have \(x.shape[0]) rows (shape \(x.shape)) but labels have \(y.shape[0]) (shape \(y.shape))")
        }
        if let featureDType, x.dtype != featureDType {
            throw FlockError("Dataset: features are \(x.dtype) \(x.shape), expected \(featureDType)")
        }
        if let labelDType, y.dtype != labelDType {
            throw FlockError("Dataset: labels are \(y.dtype) \(y.shape), expected \(labelDType)")
        }
        if let exampleShape, Array(x.shape.dropFirst()) != exampleShape {
            throw FlockError("Dataset: features have shape \(x.shape), expected [N] + \(exampleShape)")
        }
        (featureArray, labelArray) = (x, y)
    }

    /// The examples at `rows`, in that order.
    ///
    /// - Throws: ``FlockError`` when a row is out of range.
    public func rows(_ rows: [Int]) throws -> Dataset {
        if let bad = rows.first(where: { $0 < 0 || $0 >= count }) {
            throw FlockError("Dataset.rows: row \(bad) is out of range for \(count) examples")
        }
        return try Dataset(
            features: Tensor(concrete: gatherRows(featureArray, rows)), labels: Tensor(concrete: gatherRows(labelArray, rows)))
    }

    /// The examples in `range`.
    public func rows(_ range: Range<Int>) throws -> Dataset { try rows(Array(range)) }

    /// This process's contiguous share of the examples, for work that every
    /// process does on its own part (evaluation): `count` rows split as
    /// evenly as possible, the first `count % processCount` processes taking one more.
    ///
    /// ```swift
    /// let mine = try test.shard(index: Distributed.processIndex, count: Distributed.processCount)
    /// ```
    ///
    /// - Throws: ``FlockError`` when `index` is not in `0..<count`.
    public func shard(index: Int, count shards: Int) throws -> Dataset {
        guard shards >= 1, (0..<shards).contains(index) else {
            throw FlockError("Dataset.shard: index \(index) is not in 0..<\(shards)")
        }
        return try rows(Dataset.shardRows(count, index: index, count: shards))
    }

    /// The rows of shard `index` of `count` over `n` examples, as ``shard(index:count:)`` splits them.
    public static func shardRows(_ n: Int, index: Int, count shards: Int) -> Range<Int> {
        guard shards >= 1, (0..<shards).contains(index) else { return 0..<0 }
        let base = n / shards, extra = n % shards
        let start = index * base + min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }
}

/// The rows `rows` of `a` (a copy; `a` has at least one axis and every row is in range).
func gatherRows(_ a: DenseArray, _ rows: [Int]) -> DenseArray {
    let rowShape = Array(a.shape.dropFirst())
    let out = DenseArray(uninitializedShape: [rows.count] + rowShape, dtype: a.dtype)
    let rowBytes = rowShape.reduce(1, *) * a.dtype.byteSize
    guard rowBytes > 0 else { return out }
    let src = a.bytes
    let dst = UnsafeMutableRawBufferPointer(start: out.buffer.pointer, count: out.byteCount)
    for (i, row) in rows.enumerated() {
        dst.baseAddress!.advanced(by: i * rowBytes).copyMemory(from: src.baseAddress!.advanced(by: row * rowBytes), byteCount: rowBytes)
    }
    return out
}
