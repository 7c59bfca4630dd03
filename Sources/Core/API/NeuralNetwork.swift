// Composite functions from jax.nn and jax.scipy: plain Swift over primitives.

/// log Σ exp(x) over `axes`, computed stably (`jax.nn.logsumexp`).
public func logSumExp(_ x: Tensor, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let x = floatingOperand(x)
    let m = x.max(axes: axes, keepDims: true)
    // Infinite maxima (all -inf, or +inf present) must not produce inf - inf.
    let shift = `where`(isFinite(m), m, Tensor(0, dtype: x.dtype))
    let s = log(exp(x - shift).sum(axes: axes, keepDims: true)) + shift
    return keepDims ? s : s.squeezed(axes.map { a in a.map { $0 < 0 ? $0 + x.rank : $0 } } ?? Array(0..<x.rank))
}

/// Softmax along `axis` (`jax.nn.softmax`).
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    guard normalizeAxis(axis, rank: x.rank, "softmax") != nil else { return poison }
    let x = floatingOperand(x)
    let e = exp(x - x.max(axes: [axis], keepDims: true))
    return e / e.sum(axes: [axis], keepDims: true)
}

/// log(softmax(x)) along `axis`, computed stably (`jax.nn.log_softmax`).
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    guard normalizeAxis(axis, rank: x.rank, "logSoftmax") != nil else { return poison }
    let x = floatingOperand(x)
    let shifted = x - x.max(axes: [axis], keepDims: true)
    return shifted - log(exp(shifted).sum(axes: [axis], keepDims: true))
}

/// max(x, 0) (`jax.nn.relu`), with JAX's derivative: 0 at x == 0, where
/// `maximum(x, 0)` would give 1/2.
///
/// Written as a select, whose derivative is the select of the tangent: a
/// boolean mask (one byte an element) is all the backward pass keeps. The
/// derivative is JAX's: 1 where x > 0, else 0 (also at 0 and at NaN, where
/// the value stays NaN).
public func relu(_ x: Tensor) -> Tensor {
    let zero = Tensor(0, dtype: x.dtype)
    // x ≤ 0 and NaN take max(x, 0) without a derivative: 0, or NaN.
    return select(x .> zero, x, maximum(bind1(.stopGradient, x), zero))
}

/// min(max(x, 0), 6) (`jax.nn.relu6`); derivative 1 strictly inside (0, 6), else 0.
public func relu6(_ x: Tensor) -> Tensor {
    let zero = Tensor(0, dtype: x.dtype), six = Tensor(6, dtype: x.dtype)
    return select((x .> zero) .& (x .< six), x, minimum(maximum(bind1(.stopGradient, x), zero), six))
}

/// x where x ≥ 0, else `negativeSlope` · x (`jax.nn.leaky_relu`).
public func leakyRelu(_ x: Tensor, negativeSlope: Double = 0.01) -> Tensor {
    let x = floatingOperand(x)
    return `where`(x .>= Tensor(0, dtype: x.dtype), x, Tensor(negativeSlope, dtype: x.dtype, weakType: true) * x)
}

/// x where x > 0, else α·(eˣ − 1) (`jax.nn.elu`); the exponential sees only
/// x ≤ 0, so large x cannot overflow into the unused branch's derivative.
public func elu(_ x: Tensor, alpha: Double = 1) -> Tensor {
    let x = floatingOperand(x)
    let zero = Tensor(0, dtype: x.dtype)
    let positive = x .> zero
    return `where`(positive, x, Tensor(alpha, dtype: x.dtype, weakType: true) * expm1(`where`(positive, zero, x)))
}

/// x · sigmoid(x) (`jax.nn.silu`).
public func silu(_ x: Tensor) -> Tensor { x * sigmoid(x) }

/// One-hot encoding of integer `labels` into `numClasses` (`jax.nn.one_hot`).
public func oneHot(_ labels: Tensor, numClasses: Int, dtype: DType = .float32) -> Tensor {
    let classes = bind1(.iota(labels.dtype == .uint32 ? .uint32 : .int32, shape: [numClasses], dimension: 0))
    return (labels.expandingDims(-1) .== classes).converted(to: dtype)
}
