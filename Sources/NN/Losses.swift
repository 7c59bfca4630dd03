// Losses with optax's semantics (optax.losses): each returns one value per
// example (the class or feature axis reduced), so the caller chooses the
// reduction — usually `.mean()`:
//
//     let loss = softmaxCrossEntropy(logits: model(x), integerLabels: y).mean()
//
// Masks (`where:`) follow optax: a boolean array over the logits (or one
// rank lower, then expanded along `axis`); masked entries take no part in
// the normalisation nor the sum.

/// A mask broadcast to `shape`, expanded along `axis` first when it is one rank short (as optax).
private func expandedMask(_ mask: Tensor?, like x: Tensor, axis: Int) -> Tensor? {
    guard var m = mask else { return nil }
    if m.rank != x.rank { m = m.expandingDims(axis) }
    if m.dtype != .bool { m = m .!= Tensor(0, dtype: m.dtype) }
    return m.shape == x.shape ? m : m.broadcast(to: x.shape)
}

/// `x` where `mask` holds, `fill` elsewhere.
private func masked(_ x: Tensor, _ mask: Tensor, fill: Double) -> Tensor {
    `where`(mask, x, Tensor(fill, dtype: x.dtype))
}

/// log-softmax along `axis` over the entries `mask` selects, −∞ elsewhere (`jax.nn.log_softmax(where:)`).
private func maskedLogSoftmax(_ x: Tensor, axis: Int, mask: Tensor?) -> Tensor {
    guard let mask else { return logSoftmax(x, axis: axis) }
    let safe = masked(x, mask, fill: -.infinity)
    let shifted = safe - stopGradient(safe.max(axes: [axis], keepDims: true))
    let lse = log(masked(exp(shifted), mask, fill: 0).sum(axes: [axis], keepDims: true))
    return masked(shifted - lse, mask, fill: -.infinity)
}

/// Cross-entropy between softmax(logits) and label probabilities (one-hot,
/// smoothed or any distribution) along `axis` (`optax.softmax_cross_entropy`):
/// `−Σ labels · log_softmax(logits)`, one value per example.
///
/// - Parameters:
///   - logits: unnormalised log-probabilities, classes along `axis`.
///   - labels: probabilities of the logits' shape.
///   - axis: the class axis.
///   - mask: which classes take part (optax's `where`), the logits' shape or one rank less.
///
/// ```swift
/// let loss = softmaxCrossEntropy(logits: logits, labels: smoothLabels(oneHot(y, numClasses: 10), alpha: 0.1)).mean()
/// ```
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, axis: Int = -1, where mask: Tensor? = nil) -> Tensor {
    guard logits.shape == labels.shape else {
        raise(FlockError("softmaxCrossEntropy: logits \(logits.shape) and labels \(labels.shape) must have the same shape"))
        return Tensor.poisoned
    }
    let m = expandedMask(mask, like: logits, axis: axis)
    let terms = labels.converted(to: logits.dtype) * maskedLogSoftmax(logits, axis: axis, mask: m)
    return -(m.map { masked(terms, $0, fill: 0) } ?? terms).sum(axes: [axis])
}

/// Cross-entropy between softmax(logits) and integer class labels
/// (`optax.softmax_cross_entropy_with_integer_labels`):
/// `logsumexp(logits) − logits[label]`, one value per example.
///
/// - Parameters:
///   - logits: unnormalised log-probabilities, classes along `axis`.
///   - integerLabels: int32 class indices, the logits' shape without `axis`.
///   - mask: which classes take part (optax's `where`); an example with no
///     class left gets 0.
///
/// ```swift
/// let loss = softmaxCrossEntropy(logits: model(x), integerLabels: y).mean()
/// ```
public func softmaxCrossEntropy(logits: Tensor, integerLabels labels: Tensor, axis: Int = -1, where mask: Tensor? = nil) -> Tensor {
    let a = axis < 0 ? axis + logits.rank : axis
    var expectedShape = logits.shape
    if a >= 0 && a < logits.rank { expectedShape.remove(at: a) }
    guard a >= 0 && a < logits.rank, labels.shape == expectedShape, labels.dtype == .int32 || labels.dtype == .uint32 else {
        raise(FlockError("softmaxCrossEntropy: integer labels must be int32 of shape \(expectedShape) for logits \(logits.shape) (axis \(axis)), got \(labels.dtype) \(labels.shape)"))
        return Tensor.poisoned
    }
    let m = expandedMask(mask, like: logits, axis: a)
    var classShape = [Int](repeating: 1, count: logits.rank)
    classShape[a] = logits.shape[a]
    let isLabel = labels.expandingDims(a) .== arange(logits.shape[a], dtype: labels.dtype).reshaped(classShape)
    // The label's logit by a select and a sum: exact, and other entries (±inf) cannot turn it into NaN.
    let labelLogits = masked(logits, isLabel, fill: 0).sum(axes: [a])
    // logsumexp over the selected classes, as jax.nn.logsumexp(where:).
    let x = m.map { masked(logits, $0, fill: 0) } ?? logits
    let xmax = (m.map { masked(x, $0, fill: -.infinity) } ?? x).max(axes: [a], keepDims: true)
    let shift = stopGradient(`where`(isFinite(xmax), xmax, Tensor(0, dtype: x.dtype)))
    let e = exp(x - shift)
    let lse = log((m.map { masked(e, $0, fill: 0) } ?? e).sum(axes: [a])) + shift.squeezed([a])
    let out = lse - labelLogits
    guard let m else { return out }
    return masked(out, m.any(axes: [a]), fill: 0)
}

/// Label smoothing (`optax.smooth_labels`): `(1 − alpha)·labels + alpha / classes`,
/// where `classes` counts the classes `mask` keeps when one is given.
///
/// ```swift
/// let targets = smoothLabels(oneHot(y, numClasses: 10), alpha: 0.1)
/// ```
public func smoothLabels(_ labels: Tensor, alpha: Double, axis: Int = -1, where mask: Tensor? = nil) -> Tensor {
    guard labels.dtype.isFloatingPoint, labels.rank > 0 else {
        raise(FlockError("smoothLabels: labels must be floating-point probabilities with a class axis, got \(labels.dtype) \(labels.shape)"))
        return Tensor.poisoned
    }
    if let m = expandedMask(mask, like: labels, axis: axis) {
        let classes = m.converted(to: labels.dtype).sum(axes: [axis], keepDims: true)
        return (1 - alpha) * labels + alpha / classes
    }
    let classes = labels.shape[axis < 0 ? axis + labels.rank : axis]
    return (1 - alpha) * labels + alpha / Double(classes)
}

/// Binary cross-entropy of sigmoid(logits) against labels in [0, 1]
/// (`optax.sigmoid_binary_cross_entropy`), elementwise and computed stably:
/// `−labels·log σ(x) − (1 − labels)·log σ(−x)`.
///
/// ```swift
/// let loss = sigmoidBinaryCrossEntropy(logits: scores, labels: targets).mean()
/// ```
public func sigmoidBinaryCrossEntropy(logits: Tensor, labels: Tensor) -> Tensor {
    guard logits.dtype.isFloatingPoint else {
        raise(FlockError("sigmoidBinaryCrossEntropy: logits must be floating point, got \(logits.dtype)"))
        return Tensor.poisoned
    }
    let y = labels.converted(to: logits.dtype)
    let logP = -softplus(-logits), logNotP = -softplus(logits)
    return -y * logP - (1 - y) * logNotP
}

/// Checks a regression loss's operands: floating point, equal shapes (optax does not broadcast).
private func regressionErrors(_ name: String, _ predictions: Tensor, _ targets: Tensor?) -> Tensor? {
    guard predictions.dtype.isFloatingPoint else {
        raise(FlockError("\(name): predictions must be floating point, got \(predictions.dtype)"))
        return nil
    }
    guard let targets else { return predictions }
    guard targets.shape == predictions.shape else {
        raise(FlockError("\(name): predictions \(predictions.shape) and targets \(targets.shape) must have the same shape"))
        return nil
    }
    return predictions - targets
}

/// `(predictions − targets)²` elementwise (`optax.squared_error`); without
/// targets, `predictions²`. Its mean is the MSE.
///
/// ```swift
/// let mse = squaredError(model(x), y).mean()
/// ```
public func squaredError(_ predictions: Tensor, _ targets: Tensor? = nil) -> Tensor {
    guard let e = regressionErrors("squaredError", predictions, targets) else { return Tensor.poisoned }
    return e * e
}

/// Half the squared error, `0.5·(predictions − targets)²` (`optax.l2_loss`).
public func l2Loss(_ predictions: Tensor, _ targets: Tensor? = nil) -> Tensor {
    guard let e = regressionErrors("l2Loss", predictions, targets) else { return Tensor.poisoned }
    return 0.5 * (e * e)
}

/// The Huber loss (`optax.huber_loss`): `0.5·e²` where `|e| ≤ delta`, else
/// `0.5·delta² + delta·(|e| − delta)`, elementwise.
///
/// ```swift
/// let loss = huberLoss(predictions, targets, delta: 1).mean()
/// ```
public func huberLoss(_ predictions: Tensor, _ targets: Tensor? = nil, delta: Double = 1) -> Tensor {
    guard let e = regressionErrors("huberLoss", predictions, targets) else { return Tensor.poisoned }
    let absErrors = abs(e)
    let quadratic = minimum(absErrors, Tensor(delta, dtype: e.dtype))
    let linear = absErrors - quadratic
    return 0.5 * (quadratic * quadratic) + delta * linear
}

/// Cosine similarity along `axis` (`optax.cosine_similarity`): the dot
/// product of the two vectors scaled to unit length, each squared norm
/// floored at `epsilon` (with 0, a zero vector gives NaN, as in optax).
///
/// ```swift
/// let similarity = cosineSimilarity(embeddings, targets, epsilon: 1e-8)
/// ```
public func cosineSimilarity(_ predictions: Tensor, _ targets: Tensor, epsilon: Double = 0, axis: Int = -1, where mask: Tensor? = nil) -> Tensor {
    guard predictions.dtype.isFloatingPoint, targets.dtype.isFloatingPoint, predictions.shape == targets.shape else {
        raise(FlockError("cosineSimilarity: predictions and targets must be floating point of one shape, got \(predictions.dtype) \(predictions.shape) and \(targets.dtype) \(targets.shape)"))
        return Tensor.poisoned
    }
    let m = expandedMask(mask, like: predictions, axis: axis)
    func sum(_ x: Tensor, keepDims: Bool) -> Tensor {
        (m.map { masked(x, $0, fill: 0) } ?? x).sum(axes: [axis], keepDims: keepDims)
    }
    let eps = Tensor(epsilon, dtype: predictions.dtype)
    let aNorm = sqrt(maximum(sum(predictions * predictions, keepDims: true), eps))
    let bNorm = sqrt(maximum(sum(targets * targets, keepDims: true), eps))
    return sum((predictions / aNorm) * (targets / bNorm), keepDims: false)
}

/// Cosine distance, `1 − cosineSimilarity` (`optax.cosine_distance`).
public func cosineDistance(_ predictions: Tensor, _ targets: Tensor, epsilon: Double = 0, axis: Int = -1, where mask: Tensor? = nil) -> Tensor {
    1 - cosineSimilarity(predictions, targets, epsilon: epsilon, axis: axis, where: mask)
}
