// Classification metrics, one value per example (1 correct, 0 wrong) in
// float32, like the losses: `.mean()` is the accuracy of a batch.

/// Checks a metric's operands: logits with a class axis, int32 labels of the logits' batch shape.
private func checkMetricOperands(_ name: String, _ logits: Tensor, _ labels: Tensor) -> Bool {
    guard logits.rank >= 1, labels.shape == Array(logits.shape.dropLast()), labels.dtype == .int32 else {
        raise(FlockError("\(name): labels must be int32 of shape \(Array(logits.shape.dropLast())) for logits \(logits.shape), got \(labels.dtype) \(labels.shape)"))
        return false
    }
    return true
}

/// Whether each example's highest logit is its label (`argmax(logits) == labels`,
/// the first maximum on ties), as 1 or 0 in float32.
///
/// ```swift
/// let acc = accuracy(logits: model(x), labels: y).mean()
/// ```
public func accuracy(logits: Tensor, labels: Tensor) -> Tensor {
    guard checkMetricOperands("accuracy", logits, labels) else { return Tensor.poisoned }
    return (logits.argmax(axis: -1) .== labels).converted(to: .float32)
}

/// Whether each example's label is among its `k` highest logits, as 1 or 0
/// in float32. Ties go to the lower class index, as `jax.lax.top_k`.
///
/// Computed from the label's rank (how many classes beat it) rather than a
/// sort: one comparison per logit.
///
/// ```swift
/// let top5 = topKAccuracy(logits: model(x), labels: y, k: 5).mean()
/// ```
public func topKAccuracy(logits: Tensor, labels: Tensor, k: Int) -> Tensor {
    guard checkMetricOperands("topKAccuracy", logits, labels) else { return Tensor.poisoned }
    guard k >= 1 else {
        raise(FlockError("topKAccuracy: k must be at least 1, got \(k)"))
        return Tensor.poisoned
    }
    let classes = logits.shape[logits.rank - 1]
    let index = arange(classes, dtype: .int32)
    let label = labels.expandingDims(-1)
    let isLabel = label .== index
    let labelLogit = `where`(isLabel, logits, Tensor(0, dtype: logits.dtype)).sum(axes: [-1], keepDims: true)
    let beats = (logits .> labelLogit) .| ((logits .== labelLogit) .& (index .< label))
    let rank = beats.converted(to: .int32).sum(axes: [-1])
    return (rank .< Tensor(Int32(clamping: k))).converted(to: .float32)
}
