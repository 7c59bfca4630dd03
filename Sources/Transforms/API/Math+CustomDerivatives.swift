// Functions whose derivative JAX defines by a custom rule (so it stays finite
// at infinities): the same rule here, so gradients equal JAX's.

/// log(eᵃ + eᵇ) without overflow (`jnp.logaddexp`): max(a, b) + log1p(e^−|a−b|),
/// and a + b where a − b is NaN (NaN operands, or equal infinities).
///
/// The derivative is JAX's: ∂/∂a = e^(a − y) with +∞ read as 0 on both sides,
/// so `logAddExp(-inf, x)` has derivative 1 in x and 0 in the −∞ operand.
///
/// ```swift
/// logAddExp(Tensor(Float(0)), Tensor(Float(0)))   // log 2
/// ```
public func logAddExp(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (a, b) = promotedFloatPair(a, b)
    return logAddExpWithRule([a, b])[0]
}

private func logAddExpValue(_ a: Tensor, _ b: Tensor) -> Tensor {
    let delta = a - b
    return `where`(delta .!= delta, a + b, maximum(a, b) + log1p(exp(-abs(delta))))
}

private func logAddExpWithRule(_ operands: [Tensor]) -> [Tensor] {
    customJVPFlat({ x in [logAddExpValue(x[0], x[1])] }, jvp: logAddExpJVP)(operands)
}

private func logAddExpJVP(_ x: [Tensor], _ t: [Tensor]) -> ([Tensor], [Tensor]) {
    let y = logAddExpValue(x[0], x[1])
    // +∞ taken as 0, so e^(a − y) is 1 (not NaN) when both are +∞.
    func finite(_ v: Tensor) -> Tensor { `where`(v .== Tensor(Double.infinity, dtype: v.dtype), zerosLike(v), v) }
    let ty = t[0] * exp(finite(x[0]) - finite(y)) + t[1] * exp(finite(x[1]) - finite(y))
    return ([y], [ty])
}

/// log(1 + eˣ) (`jax.nn.softplus`): `logAddExp(x, 0)`, with its derivative
/// (σ(x); ½ at 0, 1 at +∞).
public func softplus(_ x: Tensor) -> Tensor {
    logAddExp(x, Tensor(0, dtype: x.dtype.isFloatingPoint ? x.dtype : .float32, weakType: true))
}

/// `a` and `b` converted to their common floating-point type (JAX's promotion).
func promotedFloatPair(_ a: Tensor, _ b: Tensor) -> (Tensor, Tensor) {
    var (dtype, weak) = promoteTypes(a.dtype, weak: a.weakType, b.dtype, weak: b.weakType)
    if !dtype.isFloatingPoint { dtype = .float32 }
    return (a.converted(to: dtype, weak: weak), b.converted(to: dtype, weak: weak))
}

/// Cumulative log-sum-exp along `axis` (`lax.cumlogsumexp`): the running
/// ``logAddExp(_:_:)`` in XLA's order (see ``cumulativeReduction(_:axis:reverse:identity:_:)``).
public func cumLogSumExp(_ x: Tensor, axis: Int = 0, reverse: Bool = false) -> Tensor {
    let x = x.dtype.isFloatingPoint ? x : x.converted(to: .float32)
    return cumulativeReduction(x, axis: axis, reverse: reverse, identity: -.infinity) { logAddExp($0, $1) }
}

/// log σ(x) = −softplus(−x) (`jax.nn.log_sigmoid`).
public func logSigmoid(_ x: Tensor) -> Tensor { -softplus(-x) }
