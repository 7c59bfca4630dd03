// More jax.nn activations, each JAX's formula (so values round alike).

/// −1 below −1, 1 above 1, x between (`jax.nn.hard_tanh`).
public func hardTanh(_ x: Tensor) -> Tensor {
    let x = floatingOperand(x)
    let one = Tensor(1, dtype: x.dtype)
    return `where`(x .> one, one, `where`(x .< -one, -one, x))
}

/// max(x, 0) + α·(e^(min(x, 0)/α) − 1) (`jax.nn.celu`).
public func celu(_ x: Tensor, alpha: Double = 1) -> Tensor {
    let x = floatingOperand(x)
    let zero = Tensor(0, dtype: x.dtype), a = Tensor(alpha, dtype: x.dtype, weakType: true)
    return maximum(x, zero) + a * expm1(minimum(x, zero) / a)
}

/// The scaled ELU of self-normalising networks (`jax.nn.selu`).
public func selu(_ x: Tensor) -> Tensor {
    let x = floatingOperand(x)
    let alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946
    return Tensor(scale, dtype: x.dtype, weakType: true) * elu(x, alpha: alpha)
}

/// Rounds towards zero (`jnp.trunc`).
public func trunc(_ x: Tensor) -> Tensor {
    guard x.dtype.isFloatingPoint else { return x }
    return `where`(x .< Tensor(0, dtype: x.dtype), ceil(x), floor(x))
}

/// The number of non-zero elements, over `axes` or all (`jnp.count_nonzero`), as int32.
public func countNonzero(_ x: Tensor, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    (x .!= Tensor(0, dtype: x.dtype)).converted(to: .int32).sum(axes: axes, keepDims: keepDims)
}

/// An array of `x`'s shape filled with `value` (`jnp.full_like`), in `dtype` or x's.
public func fullLike(_ x: Tensor, _ value: Double, dtype: DType? = nil) -> Tensor {
    full(x.shape, value, dtype: dtype ?? x.dtype)
}
