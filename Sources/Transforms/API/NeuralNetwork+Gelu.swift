// gelu rounded as XLA's CPU code rounds `jax.nn.gelu`, value and derivative.
//
// JAX writes x · 0.5 · (1 + tanh(√(2/π) · (x + 0.044715 · x³))); XLA fuses it
// into one loop and LLVM contracts each multiply whose only use is an add
// into a fused multiply-add. As x → −∞, 1 + tanh(…) cancels, so one rounding
// more or less in the argument moves the result by up to a relative 0.15:
// Flock spells XLA's contractions with the internal `fma` primitive, in the
// value and in the derivative (whose arithmetic XLA also rearranges: the two
// constant factors of the x³ term are folded into one). Emulated in float64,
// both forms match JAX bit for bit on 300k points (tools/make_ulp_sweep.py
// checks the committed sweep).

/// GELU, x · Φ(x) (`jax.nn.gelu`): the tanh approximation by default, the
/// exact form (through erfc) with `approximate: false`. Values and
/// derivatives round as XLA's CPU code rounds JAX's.
///
/// ```swift
/// let h = gelu(matmul(x, w) + b)
/// ```
public func gelu(_ x: Tensor, approximate: Bool = true) -> Tensor {
    let x = floatingOperand(x)
    if approximate { return withXLADerivative(x, value: geluTanhValue, derivative: geluTanhDerivative) }
    return withXLADerivative(x, value: geluErfValue, derivative: geluErfDerivative)
}

/// `value(x)` differentiated as JAX's jitted gradient computes it: a custom
/// JVP whose tangent is the tangent times `derivative(x)` (ordinary
/// differentiation of the value's operations would round differently).
private func withXLADerivative(
    _ x: Tensor, value: @escaping (Tensor) -> Tensor, derivative: @escaping (Tensor) -> Tensor
) -> Tensor {
    // Eagerly the value is all there is to compute (and it is what the
    // custom JVP's jaxpr would compute, operation for operation).
    if x.isConcrete, InterpreterContext.current === EvalInterpreter.shared { return value(x) }
    return customJVPFlat({ [value($0[0])] }) { p, t in ([value(p[0])], [derivative(p[0]) * t[0]]) }([x])[0]
}

/// (0.5 · x) · erfc(−x · √½): JAX's form, accurate far into the negative tail
/// where 1 + erf(x / √2) cancels to 0.
private func geluErfValue(_ x: Tensor) -> Tensor {
    let half = Tensor(0.5, dtype: x.dtype, weakType: true)
    let sqrtHalf = Tensor(0.5.squareRoot(), dtype: x.dtype, weakType: true)
    return (half * x) * erfc(-x * sqrtHalf)
}

/// d/dx as XLA computes JAX's gradient: with z = −x · √½,
/// fma(−((x · −1/√π) · exp(−(z · z))), √½, erfc(z) · 0.5) (XLA folds JAX's
/// −2/√π · 0.5 into one constant; LLVM contracts the final negated product
/// and sum).
private func geluErfDerivative(_ x: Tensor) -> Tensor {
    let sqrtHalf = Tensor(0.5.squareRoot(), dtype: x.dtype, weakType: true)
    let c = Tensor(-1 / Double.pi.squareRoot(), dtype: x.dtype, weakType: true)
    let z = -x * sqrtHalf
    let m = (x * c) * exp(-(z * z))
    return lax.fma(-m, sqrtHalf, erfc(z) * 0.5)
}

/// √(2/π) and 0.044715 in x's dtype (a Swift float literal is a float32 value, too coarse for float64).
private func geluTanhConstants(_ dtype: DType) -> (c: Tensor, k: Tensor) {
    (Tensor((2 / Double.pi).squareRoot(), dtype: dtype, weakType: true), Tensor(0.044715, dtype: dtype, weakType: true))
}

/// x · ((tanh(c · fma(k, x³, x)) + 1) · 0.5), x³ = (x · x) · x.
private func geluTanhValue(_ x: Tensor) -> Tensor {
    let (c, k) = geluTanhConstants(x.dtype)
    let t = tanh(lax.fma(k, x * x * x, x) * c)
    return x * ((t + 1) * 0.5)
}

/// d/dx of the value as XLA computes JAX's gradient: with t and cdf as in the
/// value, q = fma(h, t, h) for h = (x · 0.5) · (1 − t) (tanh's derivative
/// g + g·t, contracted), then fma(q · (k·c), (x·x) · 3, cdf + q · c).
private func geluTanhDerivative(_ x: Tensor) -> Tensor {
    let (c, k) = geluTanhConstants(x.dtype)
    let kc = k * c  // both concrete: folded now, rounded in the dtype, as XLA folds them
    let x2 = x * x
    let t = tanh(lax.fma(k, x2 * x, x) * c)
    let cdf = (t + 1) * 0.5
    let h = (x * 0.5) * (1 - t)
    let q = lax.fma(h, t, h)
    return lax.fma(q * kc, x2 * 3, cdf + q * c)
}
