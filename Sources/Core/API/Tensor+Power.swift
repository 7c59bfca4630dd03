/// `x` to the integer power `n` (`lax.integer_pow`, what `x ** 2` is in JAX):
/// repeated squaring in JAX's order, exact for integer dtypes (wrapping on
/// overflow), 1 for n = 0, the reciprocal for negative n (floats only).
///
/// ```swift
/// pow(Tensor([Int32(3), -2]), 3)   // [27, -8]
/// ```
public func pow(_ x: Tensor, _ n: Int) -> Tensor {
    if n == 0 { return onesLike(x).converted(to: x.dtype, weak: x.weakType) }
    if n < 0 && !x.dtype.isFloatingPoint {
        raise(FlockError("pow: a negative integer exponent (\(n)) needs a floating-point base, got \(x.dtype)"))
        return Tensor.poisoned
    }
    var base = x, remaining = n.magnitude
    var acc: Tensor? = nil
    while remaining > 0 {
        if remaining & 1 == 1 { acc = acc.map { $0 * base } ?? base }
        remaining >>= 1
        if remaining > 0 { base = base * base }
    }
    return n < 0 ? Tensor(1, dtype: x.dtype, weakType: true) / acc! : acc!
}

/// Elementwise `a` to the power `b` (`jnp.power`): an integer scalar exponent
/// takes ``pow(_:_:)-(Tensor,Int)``'s exact path, as in JAX.
public func power(_ a: Tensor, _ b: Int) -> Tensor { pow(a, b) }

/// Elementwise `a` to the power `b` (`jnp.power`), with broadcasting.
public func power(_ a: Tensor, _ b: Tensor) -> Tensor { pow(a, b) }
