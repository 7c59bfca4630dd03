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
    let x = floatingOperand(x)
    let e = exp(x - x.max(axes: [axis], keepDims: true))
    return e / e.sum(axes: [axis], keepDims: true)
}

/// log(softmax(x)) along `axis`, computed stably (`jax.nn.log_softmax`).
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor {
    let x = floatingOperand(x)
    let shifted = x - x.max(axes: [axis], keepDims: true)
    return shifted - log(exp(shifted).sum(axes: [axis], keepDims: true))
}

/// max(x, 0) (`jax.nn.relu`), with JAX's derivative: 0 at x == 0, where
/// `maximum(x, 0)` would give 1/2.
///
/// Written as a select, whose derivative is the select of the tangent: a
/// boolean mask (one byte an element) is all the backward pass keeps. NaN stays NaN.
public func relu(_ x: Tensor) -> Tensor {
    let zero = Tensor(0, dtype: x.dtype)
    return select(x .<= zero, zero.broadcast(to: x.shape), x)
}

/// GELU; tanh approximation by default, as `jax.nn.gelu`.
public func gelu(_ x: Tensor, approximate: Bool = true) -> Tensor {
    let x = floatingOperand(x)
    if approximate {
        // Constants in x's dtype: a Swift float literal is a float32 value, too coarse for float64.
        let c = Tensor((2 / Double.pi).squareRoot(), dtype: x.dtype, weakType: true)
        let k = Tensor(0.044715, dtype: x.dtype, weakType: true)
        // jax.nn.gelu's operations in its order (x ** 3 is (x·x)·x), so the results round alike.
        let cdf = 0.5 * (1 + tanh(c * (x + k * (x * x * x))))
        return x * cdf
    }
    return x * (erf(x / Tensor(2.0.squareRoot(), dtype: x.dtype, weakType: true)) + 1) / 2
}

/// log(1 + eˣ), computed stably (`jax.nn.softplus`).
public func softplus(_ x: Tensor) -> Tensor {
    let x = floatingOperand(x)
    return maximum(x, Tensor(0, dtype: x.dtype)) + log1p(exp(-abs(x)))
}

/// x · sigmoid(x) (`jax.nn.silu`).
public func silu(_ x: Tensor) -> Tensor { x * sigmoid(x) }

/// One-hot encoding of integer `labels` into `numClasses` (`jax.nn.one_hot`).
public func oneHot(_ labels: Tensor, numClasses: Int, dtype: DType = .float32) -> Tensor {
    let classes = bind1(.iota(labels.dtype == .uint32 ? .uint32 : .int32, shape: [numClasses], dimension: 0))
    return (labels.expandingDims(-1) .== classes).converted(to: dtype)
}
